/*
 * ISA-L (Intel's igzip, the software deflate QPL's own software path descends from) as a
 * peer for `pageflate bench`: one 4 KiB page compressed as raw deflate with a 4 KiB window,
 * and one page decoded. A thin shim so the Rust side never mirrors ISA-L's large structs:
 * the stream and inflate state are allocated here and handed over as opaque pointers.
 *
 * Built by native/build.rs only when ISA-L's header is installed (Debian: libisal-dev).
 */
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>

/* A compression stream (struct isal_zstream), or NULL when out of memory. */
void *pf_isal_stream_new(void) { return calloc(1, sizeof(struct isal_zstream)); }

/* An inflate state (struct inflate_state), or NULL when out of memory. */
void *pf_isal_inflate_new(void) { return calloc(1, sizeof(struct inflate_state)); }

void pf_isal_free(void *p) { free(p); }

/* The level buffer size ISA-L asks for at `level` (0 or 1), 0 for other levels. */
uint32_t pf_isal_level_buf_size(uint32_t level) {
	switch (level) {
	case 0: return ISAL_DEF_LVL0_DEFAULT;
	case 1: return ISAL_DEF_LVL1_DEFAULT;
	default: return 0;
	}
}

/*
 * Compress `in` into `out` as one raw deflate stream at `level` with a window of
 * 2^hist_bits bytes. Returns the bytes written, or 0 when the output does not fit (or
 * ISA-L reports any other error).
 */
uint32_t pf_isal_deflate(void *stream, const uint8_t *in, uint32_t in_len, uint8_t *out,
			 uint32_t out_cap, uint32_t level, uint8_t *level_buf,
			 uint32_t level_buf_size, uint16_t hist_bits) {
	struct isal_zstream *s = stream;
	isal_deflate_stateless_init(s);
	s->next_in = (uint8_t *)in;
	s->avail_in = in_len;
	s->next_out = out;
	s->avail_out = out_cap;
	s->level = level;
	s->level_buf = level_buf;
	s->level_buf_size = level_buf_size;
	s->hist_bits = hist_bits;
	s->gzip_flag = IGZIP_DEFLATE;
	s->end_of_stream = 1;
	s->flush = NO_FLUSH;
	if (isal_deflate_stateless(s) != COMP_OK || s->avail_in != 0)
		return 0;
	return s->total_out;
}

/* Decode the raw deflate stream `in` into exactly `out_len` bytes: 1 on success. */
int pf_isal_inflate(void *state, const uint8_t *in, uint32_t in_len, uint8_t *out,
		    uint32_t out_len) {
	struct inflate_state *st = state;
	isal_inflate_init(st);
	st->next_in = (uint8_t *)in;
	st->avail_in = in_len;
	st->next_out = out;
	st->avail_out = out_len;
	st->crc_flag = ISAL_DEFLATE;
	if (isal_inflate_stateless(st) != ISAL_DECOMP_OK)
		return 0;
	return st->total_out == out_len && st->block_state == ISAL_BLOCK_FINISH;
}
