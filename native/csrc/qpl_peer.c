/*
 * Intel QPL's software path as a peer for `pageflate bench`: what QEMU's
 * `multifd-compression qpl` runs when no IAA device takes the job. One 4 KiB page
 * compressed as one raw deflate stream with QEMU's flags (FIRST | LAST | OMIT_VERIFY, the
 * default level, fixed Huffman unless asked for dynamic), and one page decoded. A thin
 * shim so the Rust side never mirrors QPL's job struct: the job is allocated and
 * initialized here and handed over as an opaque pointer.
 *
 * Built by native/build.rs only when scripts/fetch-qpl.sh has unpacked Debian's
 * libqpl-dev into .deps/qpl.
 */
#include <qpl/qpl.h>
#include <stdint.h>
#include <stdlib.h>

/*
 * Debian builds libqpl.a against glibc 2.38 or later, whose headers turn strtol and
 * strtoll into these C23 variants (they also accept a "0b" prefix). QPL calls them only to
 * read its hardware configuration, which the software path never does. On an older glibc
 * (bookworm: 2.36) they do not exist, so the archive gets them here.
 */
#if defined(__GLIBC__) && !__GLIBC_PREREQ(2, 38)
long __isoc23_strtol(const char *s, char **end, int base) { return strtol(s, end, base); }
long long __isoc23_strtoll(const char *s, char **end, int base) { return strtoll(s, end, base); }
#endif

/* A software-path job, or NULL when it cannot be allocated or initialized. */
void *pf_qpl_job_new(void) {
	uint32_t size = 0;
	if (qpl_get_job_size(qpl_path_software, &size) != QPL_STS_OK)
		return NULL;
	qpl_job *job = malloc(size);
	if (job == NULL)
		return NULL;
	if (qpl_init_job(qpl_path_software, job) != QPL_STS_OK) {
		free(job);
		return NULL;
	}
	return job;
}

void pf_qpl_job_free(void *job) {
	if (job != NULL) {
		qpl_fini_job(job);
		free(job);
	}
}

/*
 * Set up `job` for one page as QEMU's multifd-qpl.c prepares both its compress and its
 * decompress jobs: the whole input, FIRST | LAST | OMIT_VERIFY, level 1 (the default, the
 * only one QEMU uses).
 */
static void prepare(qpl_job *job, qpl_operation op, const uint8_t *in, uint32_t in_len,
		    uint8_t *out, uint32_t out_len) {
	job->op = op;
	job->level = qpl_default_level;
	job->next_in_ptr = (uint8_t *)in;
	job->available_in = in_len;
	job->next_out_ptr = out;
	job->available_out = out_len;
	job->flags = QPL_FLAG_FIRST | QPL_FLAG_LAST | QPL_FLAG_OMIT_VERIFY;
}

/* QPL's version string, e.g. "1.9.0". */
const char *pf_qpl_version(void) { return qpl_get_library_version(); }

/*
 * Compress `in` into at most `out_cap` bytes of `out` as one raw deflate stream, as QEMU's
 * multifd-qpl.c does (it passes page_size - 1 as the room). Returns the bytes written, or 0
 * when the output does not fit (QEMU then sends the page raw) or QPL reports any other error.
 */
uint32_t pf_qpl_compress(void *job_ptr, const uint8_t *in, uint32_t in_len, uint8_t *out,
			 uint32_t out_cap, int dynamic) {
	qpl_job *job = job_ptr;
	prepare(job, qpl_op_compress, in, in_len, out, out_cap);
	if (dynamic)
		job->flags |= QPL_FLAG_DYNAMIC_HUFFMAN;
	if (qpl_execute_job(job) != QPL_STS_OK)
		return 0;
	return job->total_out;
}

/*
 * Decode the raw deflate stream `in` into exactly `out_len` bytes: 1 on success.
 */
int pf_qpl_decompress(void *job_ptr, const uint8_t *in, uint32_t in_len, uint8_t *out,
		      uint32_t out_len) {
	qpl_job *job = job_ptr;
	prepare(job, qpl_op_decompress, in, in_len, out, out_len);
	if (qpl_execute_job(job) != QPL_STS_OK)
		return 0;
	return job->total_out == out_len;
}
