/* Finding a symbol in a vDSO image: the host's (to read host time) and, later,
 * timewarp's own.  Freestanding: <elf.h> gives types only. */
#include <elf.h>
#include <stddef.h>
#include <stdint.h>

#include "vdso_lookup.h"

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

struct image {
	uintptr_t bias;          /* run-time address minus link-time address */
	const Elf64_Sym *sym;
	const char *str;
	const Elf64_Versym *versym;
	const Elf64_Verdef *verdef;
	const Elf32_Word *hash;      /* DT_HASH */
	const Elf32_Word *gnu_hash;  /* DT_GNU_HASH */
};

static int load(struct image *im, const void *base)
{
	const Elf64_Ehdr *eh = base;
	const Elf64_Phdr *ph;
	const Elf64_Dyn *dyn = NULL;
	int have_bias = 0;

	if (eh->e_ident[EI_MAG0] != ELFMAG0 || eh->e_ident[EI_MAG1] != ELFMAG1 ||
	    eh->e_ident[EI_MAG2] != ELFMAG2 || eh->e_ident[EI_MAG3] != ELFMAG3 ||
	    eh->e_ident[EI_CLASS] != ELFCLASS64)
		return -1;
	*im = (struct image){ 0 };
	ph = (const Elf64_Phdr *)((const char *)base + eh->e_phoff);
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !have_bias) {
			im->bias = (uintptr_t)base + ph[i].p_offset - ph[i].p_vaddr;
			have_bias = 1;
		} else if (ph[i].p_type == PT_DYNAMIC) {
			dyn = (const Elf64_Dyn *)((const char *)base + ph[i].p_offset);
		}
	}
	if (!have_bias || !dyn)
		return -1;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		uintptr_t a = im->bias + dyn->d_un.d_ptr;
		switch (dyn->d_tag) {
		case DT_STRTAB: im->str = (const char *)a; break;
		case DT_SYMTAB: im->sym = (const Elf64_Sym *)a; break;
		case DT_HASH: im->hash = (const Elf32_Word *)a; break;
		case DT_GNU_HASH: im->gnu_hash = (const Elf32_Word *)a; break;
		case DT_VERSYM: im->versym = (const Elf64_Versym *)a; break;
		case DT_VERDEF: im->verdef = (const Elf64_Verdef *)a; break;
		}
	}
	if (!im->str || !im->sym || (!im->hash && !im->gnu_hash))
		return -1;
	return 0;
}

/* Number of dynamic symbols: nchain of DT_HASH, else walk DT_GNU_HASH to the end
 * of its last chain. */
static size_t nsyms(const struct image *im)
{
	const Elf32_Word *g = im->gnu_hash, *buckets, *chain;
	Elf32_Word nbuckets, symoffset, bloom, last = 0;

	if (im->hash)
		return im->hash[1];
	nbuckets = g[0];
	symoffset = g[1];
	bloom = g[2];
	buckets = g + 4 + bloom * 2; /* 64-bit bloom words */
	chain = buckets + nbuckets;
	for (Elf32_Word b = 0; b < nbuckets; b++)
		if (buckets[b] > last)
			last = buckets[b];
	if (last < symoffset)
		return symoffset;
	while (!(chain[last - symoffset] & 1))
		last++;
	return last + 1;
}

static int version_is(const struct image *im, size_t i, const char *version)
{
	const Elf64_Verdef *vd = im->verdef;
	Elf64_Versym want;

	if (!version || !im->versym || !vd)
		return 1; /* unversioned image: any definition matches */
	want = im->versym[i] & 0x7fff;
	for (;;) {
		if (!(vd->vd_flags & VER_FLG_BASE) && (vd->vd_ndx & 0x7fff) == want) {
			const Elf64_Verdaux *aux =
				(const Elf64_Verdaux *)((const char *)vd + vd->vd_aux);
			return streq(im->str + aux->vda_name, version);
		}
		if (!vd->vd_next)
			return 0;
		vd = (const Elf64_Verdef *)((const char *)vd + vd->vd_next);
	}
}

void *tw_vdso_sym(const void *base, const char *name, const char *version)
{
	struct image im;
	size_t n;

	if (!base || load(&im, base))
		return NULL;
	n = nsyms(&im);
	for (size_t i = 0; i < n; i++) {
		const Elf64_Sym *s = &im.sym[i];
		int type = ELF64_ST_TYPE(s->st_info);
		if ((type != STT_FUNC && type != STT_OBJECT && type != STT_NOTYPE) ||
		    s->st_shndx == SHN_UNDEF)
			continue;
		if (ELF64_ST_BIND(s->st_info) != STB_GLOBAL && ELF64_ST_BIND(s->st_info) != STB_WEAK)
			continue;
		if (streq(im.str + s->st_name, name) && version_is(&im, i, version))
			return (void *)(im.bias + s->st_value);
	}
	return NULL;
}
