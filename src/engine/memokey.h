/* The key of memos and folds (struct tw_memokey, engine.h): what a process computed once
 * and reuses while the kernel's data and the namespace stay as they were.
 *
 * A reader checks the key and reads the contents between two loads of the
 * key's count; a reader that computed a new answer writes it under the same
 * count, made odd meanwhile.  Readers race to write: one that finds the count
 * odd (another writing) leaves the key as it is, and the next read computes
 * again.  Freestanding, like the engine. */
#ifndef TW_MEMOKEY_H
#define TW_MEMOKEY_H

#include <stdint.h>
#include "engine.h"

/* Whether `k` is whole and was made under the kernel data's count `vs`, page
 * `pg` and its head `s`; *ks: the key's count, to check again after its
 * contents (tw_memokey_still).  The count and vseq are one aligned 8-byte word
 * (x86-64, little-endian): one load and one compare check that the count is
 * even and vseq is `vs`. */
static inline __attribute__((always_inline)) int
tw_memokey_holds(const struct tw_memokey *k, uint32_t vs, uint32_t s, const struct tw_page *pg,
	      uint32_t *ks)
{
	uint64_t v = __atomic_load_n((const uint64_t *)(const void *)&k->seq, __ATOMIC_ACQUIRE);

	*ks = (uint32_t)v;
	return (v & 0xffffffff00000001ULL) == (uint64_t)vs << 32 &&
	       __atomic_load_n(&k->pseq, __ATOMIC_RELAXED) == s &&
	       __atomic_load_n(&k->page, __ATOMIC_RELAXED) == pg;
}
_Static_assert(__builtin_offsetof(struct tw_memokey, vseq) == 4 && _Alignof(struct tw_memokey) == 8,
	       "a key's seq and vseq are read in one load");

/* After the contents: whether the key stayed as it was when *ks was read. */
static inline __attribute__((always_inline)) int tw_memokey_still(const struct tw_memokey *k,
							       uint32_t ks)
{
	__atomic_thread_fence(__ATOMIC_ACQUIRE);
	return __atomic_load_n(&k->seq, __ATOMIC_RELAXED) == ks;
}

/* Takes `k` for writing: 0 with its count made odd (*ks: the even count it
 * had), or 1 when another reader is writing it. */
static inline int tw_memokey_take(struct tw_memokey *k, uint32_t *ks)
{
	*ks = __atomic_load_n(&k->seq, __ATOMIC_RELAXED);
	if ((*ks & 1) || !__atomic_compare_exchange_n(&k->seq, ks, *ks + 1, 0, __ATOMIC_ACQ_REL,
						      __ATOMIC_RELAXED))
		return 1;
	__atomic_thread_fence(__ATOMIC_RELEASE); /* odd before the contents */
	return 0;
}

/* Gives `k` back with its new key, after its contents. */
static inline void tw_memokey_give(struct tw_memokey *k, uint32_t ks, uint32_t vs, uint32_t s,
				const struct tw_page *pg)
{
	__atomic_store_n(&k->vseq, vs, __ATOMIC_RELAXED);
	__atomic_store_n(&k->pseq, s, __ATOMIC_RELAXED);
	__atomic_store_n(&k->page, pg, __ATOMIC_RELAXED);
	__atomic_store_n(&k->seq, ks + 2, __ATOMIC_RELEASE);
}

#endif
