#ifndef TW_VDSO_LOOKUP_H
#define TW_VDSO_LOOKUP_H

/* The address of the function or object `name` (with symbol version `version`,
 * or any when null) in the vDSO-style ELF image mapped at `base`, or null. */
void *tw_vdso_sym(const void *base, const char *name, const char *version);

#endif
