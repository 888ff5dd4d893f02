/* The timewarp vDSO image (build/timewarp-vdso.so, from src/vdso/), carried
 * inside the runtime; start.c copies it into each member. */
	.section .rodata.tw_vdso_image, "a"
	.balign 4096
	.globl tw_vdso_image
	.hidden tw_vdso_image
tw_vdso_image:
	.incbin "timewarp-vdso.so"
	.globl tw_vdso_image_end
	.hidden tw_vdso_image_end
tw_vdso_image_end:
	.section .note.GNU-stack, "", @progbits
