#include "formats/nvs_read.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checksum.h"
#include "core/hex.h"

static void nvs_read_note_problem(struct nvs_read_result *r, char *slot, size_t n,
				  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void nvs_read_note_problem(struct nvs_read_result *r, char *slot, size_t n,
				  const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* Keys come from the image: keep the text printable and valid UTF-8. */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
			*c = '?';
	if (slot && n && !slot[0])
		snprintf(slot, n, "%.*s", (int)(n - 1), msg);
	char **list = realloc(r->problems, (r->problem_count + 1) * sizeof *list);
	if (!list)
		abort();
	r->problems = list;
	r->problems[r->problem_count] = mem_strdup(msg);
	if (r->problem_count++ == 0)
		snprintf(r->first_problem, sizeof r->first_problem, "%s", msg);
}

const char *nvs_read_name_page_state(uint32_t state)
{
	switch (state) {
	case NVS_PAGE_STATE_EMPTY: return "EMPTY";
	case NVS_PAGE_STATE_ACTIVE: return "ACTIVE";
	case NVS_PAGE_STATE_FULL: return "FULL";
	case NVS_PAGE_STATE_FREEING: return "FREEING";
	case NVS_PAGE_STATE_CORRUPT: return "CORRUPT";
	}
	return "INVALID";
}

static bool nvs_read_is_blank(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0xFF)
			return false;
	return true;
}

static bool nvs_read_type_known(uint8_t t)
{
	return nvs_type_is_int((enum nvs_type)t) || t == NVS_TYPE_SZ || t == NVS_TYPE_BLOB ||
	       t == NVS_TYPE_BLOB_DATA || t == NVS_TYPE_BLOB_IDX;
}

static unsigned nvs_read_slot_state(const uint8_t *page, unsigned i)
{
	return (page[32 + (2 * i) / 8] >> ((2 * i) % 8)) & 3;
}

static struct nvs_read_entry *nvs_read_push_entry(struct nvs_read_result *r, size_t *cap)
{
	if (r->entry_count == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		r->entries = realloc(r->entries, *cap * sizeof *r->entries);
		if (!r->entries)
			abort();
	}
	struct nvs_read_entry *en = &r->entries[r->entry_count++];
	memset(en, 0, sizeof *en);
	return en;
}

static void nvs_read_decode_entry(struct nvs_read_result *r, const uint8_t *page, uint32_t pg,
				  unsigned i, struct nvs_read_entry *en, bool *span_trusted)
{
	const uint8_t *ent = page + NVS_FIRST_ENTRY_OFFSET + NVS_ENTRY_SIZE * i;
	en->page = pg;
	en->slot = i;
	en->state = (enum nvs_read_entry_state)nvs_read_slot_state(page, i);
	en->ns = ent[0];
	en->type = ent[1];
	en->span = ent[2];
	en->chunk = ent[3];
	memcpy(en->key, ent + 8, 16);
	en->key[16] = '\0';
	uint8_t tmp[28];
	memcpy(tmp, ent, 4);
	memcpy(tmp + 4, ent + 8, 24);
	en->crc_ok = checksum_read_u32le(ent + 4) == checksum_crc32_esp(tmp, sizeof tmp);
	en->data_crc_ok = true;
	bool report = en->state == NVS_READ_ENTRY_WRITTEN;
	if (!en->crc_ok) {
		if (report)
			nvs_read_note_problem(r, en->problem, sizeof en->problem,
					      "page %u entry %u: entry CRC mismatch", pg, i);
		return;
	}
	if (!nvs_read_type_known(en->type)) {
		if (report)
			nvs_read_note_problem(r, en->problem, sizeof en->problem,
					      "page %u entry %u: unknown type 0x%02x", pg, i,
					      en->type);
		return;
	}
	if (nvs_type_is_int((enum nvs_type)en->type)) {
		for (unsigned k = 0; k < nvs_type_width((enum nvs_type)en->type); k++)
			en->num |= (uint64_t)ent[24 + k] << (8 * k);
		unsigned bits = nvs_type_width((enum nvs_type)en->type) * 8;
		if (nvs_type_is_signed((enum nvs_type)en->type) && bits < 64 &&
		    (en->num >> (bits - 1)) & 1)
			en->num |= ~(uint64_t)0 << bits;
		if (en->span != 1 && report)
			nvs_read_note_problem(r, en->problem, sizeof en->problem,
					      "page %u entry %u: span %u for an integer", pg, i,
					      en->span);
		return;
	}
	if (en->type == NVS_TYPE_BLOB_IDX) {
		en->blob_size = checksum_read_u32le(ent + 24);
		en->chunk_count = ent[28];
		en->chunk_start = ent[29];
		return;
	}
	unsigned size = checksum_read_u16le(ent + 24);
	unsigned need = 1 + (size + NVS_ENTRY_SIZE - 1) / NVS_ENTRY_SIZE;
	if (en->span != need || i + en->span > NVS_ENTRIES_PER_PAGE) {
		if (report)
			nvs_read_note_problem(r, en->problem, sizeof en->problem,
					      "page %u entry %u: key '%s': span %u does not match "
					      "%u data bytes", pg, i, en->key, en->span, size);
		en->data_crc_ok = false;
		return;
	}
	buf_append_bytes(&en->data, ent + NVS_ENTRY_SIZE, size);
	if (!en->data.data)
		buf_reserve_bytes(&en->data, 1);
	if (checksum_read_u32le(ent + 28) != checksum_crc32_esp(ent + NVS_ENTRY_SIZE, size)) {
		en->data_crc_ok = false;
		/* The header's CRC holds, so its span does: the payload entries are not items. */
		*span_trusted = true;
		if (report)
			nvs_read_note_problem(r, en->problem, sizeof en->problem,
					      "page %u entry %u: key '%s': data CRC mismatch", pg,
					      i, en->key);
		return;
	}
	if (report) {
		for (unsigned k = 1; k < en->span; k++) {
			if (nvs_read_slot_state(page, i + k) != NVS_READ_ENTRY_WRITTEN) {
				nvs_read_note_problem(r, en->problem, sizeof en->problem,
						      "page %u entry %u: key '%s': data entry %u "
						      "not marked written", pg, i, en->key, i + k);
				break;
			}
		}
	}
}

static void nvs_read_parse_page(struct nvs_read_result *r, const uint8_t *page, uint32_t pg,
				size_t *cap)
{
	struct nvs_read_page *pp = &r->pages[pg];
	memset(pp, 0, sizeof *pp);
	pp->index = pg;
	if (nvs_read_is_blank(page, NVS_PAGE_SIZE)) {
		pp->blank = true;
		pp->state = NVS_PAGE_STATE_EMPTY;
		pp->empty = NVS_ENTRIES_PER_PAGE;
		return;
	}
	pp->state = checksum_read_u32le(page);
	pp->seq = checksum_read_u32le(page + 4);
	pp->version_byte = page[8];
	pp->header_crc_ok = checksum_read_u32le(page + 28) == checksum_crc32_esp(page + 4, 24);
	for (unsigned i = 0; i < NVS_ENTRIES_PER_PAGE; i++) {
		unsigned s = nvs_read_slot_state(page, i);
		pp->written += s == NVS_READ_ENTRY_WRITTEN;
		pp->erased += s == NVS_READ_ENTRY_ERASED;
		pp->empty += s == NVS_READ_ENTRY_EMPTY;
	}
	if (pp->state == NVS_PAGE_STATE_EMPTY) {
		nvs_read_note_problem(r, NULL, 0, "page %u: state EMPTY but the page holds data",
				      pg);
		return;
	}
	if (!strcmp(nvs_read_name_page_state(pp->state), "INVALID")) {
		nvs_read_note_problem(r, NULL, 0, "page %u: invalid page state 0x%08x", pg,
				      pp->state);
		return;
	}
	/* ESP-IDF would skip such a page; an engineer looking at a damaged partition still wants
	 * its entries, whose own CRCs say whether each can be trusted */
	if (!pp->header_crc_ok)
		nvs_read_note_problem(r, NULL, 0, "page %u: header CRC mismatch (its entries are "
					      "decoded all the same)", pg);
	if (pp->state == NVS_PAGE_STATE_CORRUPT)
		return;
	if (pp->version_byte != NVS_VERSION_BYTE_V1 && pp->version_byte != NVS_VERSION_BYTE_V2)
		nvs_read_note_problem(r, NULL, 0, "page %u: unknown format version byte 0x%02x",
				      pg, pp->version_byte);
	for (unsigned i = 0; i < NVS_ENTRIES_PER_PAGE;) {
		unsigned s = nvs_read_slot_state(page, i);
		if (s == NVS_READ_ENTRY_EMPTY) {
			i++;
			continue;
		}
		struct nvs_read_entry *en = nvs_read_push_entry(r, cap);
		if (s == NVS_READ_ENTRY_ILLEGAL) {
			en->page = pg;
			en->slot = i;
			en->state = NVS_READ_ENTRY_ILLEGAL;
			nvs_read_note_problem(r, en->problem, sizeof en->problem,
					      "page %u entry %u: illegal bitmap state", pg, i);
			i++;
			continue;
		}
		bool span_trusted = false;
		nvs_read_decode_entry(r, page, pg, i, en, &span_trusted);
		/* A damaged header cannot be trusted for its span: step one slot, as ESP-IDF. */
		if (en->crc_ok && en->span >= 1 && i + en->span <= NVS_ENTRIES_PER_PAGE &&
		    (!en->problem[0] || span_trusted))
			i += en->span;
		else
			i++;
	}
}

static struct nvs_read_value *nvs_read_push_value(struct nvs_read_result *r, size_t *cap,
						  const struct nvs_read_entry *en)
{
	if (r->value_count == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		r->values = realloc(r->values, *cap * sizeof *r->values);
		if (!r->values)
			abort();
	}
	struct nvs_read_value *v = &r->values[r->value_count++];
	memset(v, 0, sizeof *v);
	v->ns = en->ns;
	if (r->ns_defined[en->ns])
		snprintf(v->ns_name, sizeof v->ns_name, "%s", r->ns_names[en->ns]);
	else
		snprintf(v->ns_name, sizeof v->ns_name, "#%u", en->ns);
	memcpy(v->key, en->key, sizeof v->key);
	v->type = (enum nvs_type)en->type;
	v->page = en->page;
	v->slot = en->slot;
	return v;
}

static bool nvs_read_usable(const struct nvs_read_entry *en)
{
	return en->state == NVS_READ_ENTRY_WRITTEN && en->crc_ok && en->data_crc_ok &&
	       !en->problem[0] && nvs_read_type_known(en->type);
}

struct nvs_read_order {
	uint32_t seq;
	size_t idx;
};

static int nvs_read_compare_order(const void *a, const void *b)
{
	const struct nvs_read_order *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static bool nvs_read_is_chunk_of(const struct nvs_read_entry *d, const struct nvs_read_entry *idx,
				  unsigned chunk)
{
	return d->type == NVS_TYPE_BLOB_DATA && nvs_read_usable(d) && d->ns == idx->ns &&
	       d->chunk == chunk && !strcmp(d->key, idx->key);
}

/* Picks the data chunk `chunk` of the blob whose index has write rank `at`: the last unclaimed
 * one written before `limit` (the chunk after it in the same version, or the index itself, since
 * a writer puts a version's chunks in order and then its index); else the last one before the
 * index; else, for a writer that placed the index first, the first one after it. SIZE_MAX when
 * there is none. */
static size_t nvs_read_pick_chunk(const struct nvs_read_result *r, const size_t *order,
				  const bool *claimed, const struct nvs_read_entry *idx, unsigned chunk,
				  size_t at, size_t limit)
{
	size_t best = SIZE_MAX;
	for (size_t k = limit; k-- > 0 && best == SIZE_MAX;)
		if (!claimed[order[k]] && nvs_read_is_chunk_of(&r->entries[order[k]], idx, chunk))
			best = order[k];
	for (size_t k = at; k-- > 0 && best == SIZE_MAX;)
		if (!claimed[order[k]] && nvs_read_is_chunk_of(&r->entries[order[k]], idx, chunk))
			best = order[k];
	for (size_t k = at + 1; k < r->entry_count && best == SIZE_MAX; k++)
		if (!claimed[order[k]] && nvs_read_is_chunk_of(&r->entries[order[k]], idx, chunk))
			best = order[k];
	return best;
}

/* Assembles the format-2 blob whose BLOB_IDX has write rank `at`, claiming its chunks. Names
 * every missing chunk and a size mismatch on the index; true when the blob is whole. */
static bool nvs_read_assemble_blob(struct nvs_read_result *r, const size_t *order,
				   const size_t *rank, bool *claimed, size_t at, buf_t *blob)
{
	struct nvs_read_entry *en = &r->entries[order[at]];
	size_t n = en->chunk_count;
	size_t *picked = mem_alloc_zeroed((n + 1) * sizeof *picked);
	size_t limit = at;
	bool ok = true;
	/* Backwards from the last chunk, so the chunks of one version form one run in write order. */
	for (size_t c = n; c-- > 0;) {
		unsigned want = en->chunk_start + (unsigned)c;
		picked[c] = want > 0xFF ? SIZE_MAX
					: nvs_read_pick_chunk(r, order, claimed, en, want, at, limit);
		if (picked[c] == SIZE_MAX)
			continue;
		claimed[picked[c]] = true;
		if (rank[picked[c]] < limit)
			limit = rank[picked[c]];
	}
	for (size_t c = 0; c < n; c++) {
		if (picked[c] == SIZE_MAX) {
			nvs_read_note_problem(r, en->problem, sizeof en->problem,
					      "page %u entry %u: blob '%s' (chunk_start %u, %u "
					      "chunk(s)): chunk %u is missing or damaged", en->page,
					      en->slot, en->key, en->chunk_start, en->chunk_count,
					      en->chunk_start + (unsigned)c);
			ok = false;
			continue;
		}
		const struct nvs_read_entry *d = &r->entries[picked[c]];
		buf_append_bytes(blob, d->data.data, d->data.len);
	}
	if (ok && blob->len != en->blob_size) {
		nvs_read_note_problem(r, en->problem, sizeof en->problem,
				      "page %u entry %u: blob '%s': chunks hold %zu bytes, the index "
				      "says %u", en->page, en->slot, en->key, blob->len, en->blob_size);
		ok = false;
	}
	free(picked);
	return ok;
}

static void nvs_read_collect_values(struct nvs_read_result *r)
{
	size_t cap = 0;
	/* Pages are used in sequence-number order, not flash order: a later write of a key (on a
	 * page with a higher sequence number) is the current one. */
	struct nvs_read_order *sorted = mem_alloc_zeroed((r->entry_count + 1) * sizeof *sorted);
	for (size_t i = 0; i < r->entry_count; i++) {
		sorted[i].seq = r->pages[r->entries[i].page].seq;
		sorted[i].idx = i;
	}
	qsort(sorted, r->entry_count, sizeof *sorted, nvs_read_compare_order);
	/* order: write rank -> entry; rank: entry -> write rank */
	size_t *order = mem_alloc_zeroed((r->entry_count + 1) * sizeof *order);
	size_t *rank = mem_alloc_zeroed((r->entry_count + 1) * sizeof *rank);
	bool *claimed = mem_alloc_zeroed(r->entry_count + 1);
	for (size_t i = 0; i < r->entry_count; i++) {
		order[i] = sorted[i].idx;
		rank[sorted[i].idx] = i;
	}
	free(sorted);
	for (size_t i = 0; i < r->entry_count; i++) {
		struct nvs_read_entry *en = &r->entries[i];
		if (!nvs_read_usable(en))
			continue;
		if (en->ns == 0 && en->type == NVS_TYPE_U8) {
			r->ns_defined[en->num & 0xFF] = true;
			snprintf(r->ns_names[en->num & 0xFF], sizeof r->ns_names[0], "%s", en->key);
		}
	}
	for (size_t oi = 0; oi < r->entry_count; oi++) {
		struct nvs_read_entry *en = &r->entries[order[oi]];
		if (!nvs_read_usable(en) || en->ns == 0 || en->type == NVS_TYPE_BLOB_DATA)
			continue;
		if (en->type != NVS_TYPE_BLOB_IDX) {
			struct nvs_read_value *v = nvs_read_push_value(r, &cap, en);
			v->num = en->num;
			buf_append_bytes(&v->data, en->data.data, en->data.len);
			continue;
		}
		buf_t blob = BUF_INIT;
		buf_reserve_bytes(&blob, 1);
		if (nvs_read_assemble_blob(r, order, rank, claimed, oi, &blob)) {
			struct nvs_read_value *v = nvs_read_push_value(r, &cap, en);
			v->type = NVS_TYPE_BLOB;
			v->data = blob;
		} else {
			buf_wipe_data(&blob);
		}
	}
	/* A chunk no index claimed: a lost index, or a leftover of an older version. */
	for (size_t oi = 0; oi < r->entry_count; oi++) {
		struct nvs_read_entry *d = &r->entries[order[oi]];
		if (d->type != NVS_TYPE_BLOB_DATA || !nvs_read_usable(d) || claimed[order[oi]])
			continue;
		nvs_read_note_problem(r, d->problem, sizeof d->problem,
				      "page %u entry %u: blob '%s' data chunk %u (%u bytes) belongs "
				      "to no blob index (orphan chunk)", d->page, d->slot, d->key,
				      d->chunk, (unsigned)d->data.len);
	}
	free(order);
	free(rank);
	free(claimed);
}

int nvs_read_partition(const uint8_t *p, size_t len, struct nvs_read_result *r, err_t *e)
{
	memset(r, 0, sizeof *r);
	if (len == 0)
		return err_set_msg(e, ERR_CHECK, "the partition is empty (0 bytes)");
	r->page_count = len / NVS_PAGE_SIZE;
	r->pages = mem_alloc_zeroed((r->page_count + 1) * sizeof *r->pages);
	if (len % NVS_PAGE_SIZE)
		nvs_read_note_problem(r, NULL, 0,
				      "image truncated: %zu bytes is not a whole number of "
				      "4096-byte pages; page %zu at offset 0x%zx has only %zu of "
				      "4096 bytes and is not decoded", len, r->page_count,
				      r->page_count * NVS_PAGE_SIZE, len % NVS_PAGE_SIZE);
	size_t cap = 0;
	for (size_t pg = 0; pg < r->page_count; pg++)
		nvs_read_parse_page(r, p + pg * NVS_PAGE_SIZE, (uint32_t)pg, &cap);
	nvs_read_collect_values(r);
	return 0;
}

void nvs_read_free(struct nvs_read_result *r)
{
	for (size_t i = 0; i < r->entry_count; i++)
		buf_wipe_data(&r->entries[i].data);
	for (size_t i = 0; i < r->value_count; i++)
		buf_wipe_data(&r->values[i].data);
	for (size_t i = 0; i < r->problem_count && r->problems; i++)
		free(r->problems[i]);
	free(r->problems);
	free(r->entries);
	free(r->values);
	free(r->pages);
	memset(r, 0, sizeof *r);
}

const struct nvs_read_value *nvs_read_find_value(const struct nvs_read_result *r,
						 const char *ns, const char *key)
{
	const struct nvs_read_value *hit = NULL;
	/* The last write of a key wins, as in NVS itself. */
	for (size_t i = 0; i < r->value_count; i++)
		if (!strcmp(r->values[i].ns_name, ns) && !strcmp(r->values[i].key, key))
			hit = &r->values[i];
	return hit;
}

void nvs_read_format_value(const struct nvs_read_value *v, buf_t *out)
{
	char num[32];
	if (nvs_type_is_int(v->type)) {
		if (nvs_type_is_signed(v->type)) {
			snprintf(num, sizeof num, "%" PRId64, (int64_t)v->num);
		} else {
			snprintf(num, sizeof num, "%" PRIu64, v->num);
		}
		buf_append_str(out, num);
	} else if (v->type == NVS_TYPE_SZ) {
		size_t n = v->data.len;
		if (n && v->data.data[n - 1] == 0)
			n--;
		buf_append_bytes(out, v->data.data, n);
	} else {
		char *hex = malloc(v->data.len * 2 + 1);
		if (!hex)
			abort();
		hex_encode_bytes(v->data.data, v->data.len, hex);
		buf_append_str(out, hex);
		free(hex);
	}
	buf_terminate_str(out);
}

bool nvs_read_is_secret(const struct nvs_read_value *v)
{
	static const char *const exact[] = {"dac-key", "sta.pswd", "ap.passwd", "sta.pmk",
					    "ap.pmk_info", NULL};
	for (int i = 0; exact[i]; i++)
		if (!strcmp(v->key, exact[i]))
			return true;
	return strstr(v->key, "priv") || strstr(v->key, "passw") || strstr(v->key, "secret");
}

static const char *nvs_read_name_entry_state(enum nvs_read_entry_state s)
{
	switch (s) {
	case NVS_READ_ENTRY_ERASED: return "erased";
	case NVS_READ_ENTRY_ILLEGAL: return "illegal";
	case NVS_READ_ENTRY_WRITTEN: return "written";
	default: return "empty";
	}
}

static void nvs_read_appendf(buf_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void nvs_read_appendf(buf_t *out, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	buf_append_str(out, line);
}

void nvs_read_format_listing(const struct nvs_read_result *r, buf_t *out)
{
	for (size_t i = 0; i < r->page_count; i++) {
		const struct nvs_read_page *p = &r->pages[i];
		if (p->blank) {
			nvs_read_appendf(out, "page %u: blank\n", p->index);
			continue;
		}
		nvs_read_appendf(out,
				 "page %u: %s, seq %u, format %s, header CRC %s, %u written, %u "
				 "erased, %u free\n",
				 p->index, nvs_read_name_page_state(p->state), p->seq,
				 p->version_byte == NVS_VERSION_BYTE_V1 ? "v1"
				 : p->version_byte == NVS_VERSION_BYTE_V2 ? "v2" : "?",
				 p->header_crc_ok ? "ok" : "BAD", p->written, p->erased, p->empty);
	}
	for (unsigned i = 1; i < 255; i++)
		if (r->ns_defined[i])
			nvs_read_appendf(out, "namespace %u: %s\n", i, r->ns_names[i]);
	for (size_t i = 0; i < r->value_count; i++) {
		const struct nvs_read_value *v = &r->values[i];
		buf_t txt = BUF_INIT;
		nvs_read_format_value(v, &txt);
		const char *t = txt.data ? (const char *)txt.data : "";
		size_t n = txt.len;
		nvs_read_appendf(out, "%s:%s %s (%zu bytes) = ", v->ns_name, v->key,
				 nvs_type_name(v->type),
				 nvs_type_is_int(v->type) ? (size_t)nvs_type_width(v->type)
							  : v->data.len);
		if (nvs_read_is_secret(v)) {
			n = 0;
			buf_append_str(out, "(secret, not shown)");
		}
		for (size_t k = 0; k < n && k < 128; k++) {
			unsigned char c = (unsigned char)t[k];
			if (c < 0x20 || c == 0x7F || c == '\\')
				nvs_read_appendf(out, "\\x%02x", c);
			else
				buf_append_byte(out, c);
		}
		if (n > 128)
			buf_append_str(out, "...");
		buf_append_str(out, "\n");
		buf_wipe_data(&txt);
	}
	for (size_t i = 0; i < r->entry_count; i++) {
		const struct nvs_read_entry *en = &r->entries[i];
		if (en->state == NVS_READ_ENTRY_ERASED)
			nvs_read_appendf(out, "erased: page %u entry %u key '%s' type %s\n",
					 en->page, en->slot, en->key,
					 nvs_type_name((enum nvs_type)en->type));
	}
	for (size_t i = 0; i < r->problem_count; i++)
		nvs_read_appendf(out, "problem: %s\n", r->problems[i]);
	nvs_read_appendf(out, "%zu value(s), %zu problem(s)\n", r->value_count, r->problem_count);
	buf_terminate_str(out);
}

static json_t *nvs_read_value_json(const struct nvs_read_value *v)
{
	json_t *o = json_object();
	json_object_set_new(o, "namespace", json_string(v->ns_name));
	json_object_set_new(o, "key", json_string(v->key));
	const char *enc = nvs_type_is_int(v->type) ? nvs_type_name(v->type)
			  : v->type == NVS_TYPE_SZ  ? "string" : "hex2bin";
	json_object_set_new(o, "encoding", json_string(enc));
	buf_t txt = BUF_INIT;
	nvs_read_format_value(v, &txt);
	json_t *val = NULL;
	if (nvs_read_is_secret(v)) {
		json_object_set_new(o, "redacted", json_true());
		json_object_set_new(o, "size", json_integer((json_int_t)v->data.len));
		val = json_null();
	} else if (nvs_type_is_int(v->type)) {
		if (nvs_type_is_signed(v->type) || v->num <= INT64_MAX)
			val = json_integer(strtoll((const char *)txt.data, NULL, 10));
		else
			val = json_string((const char *)txt.data);
	} else {
		val = json_stringn(txt.data ? (const char *)txt.data : "", txt.len);
		if (!val) { /* a string that is not UTF-8: give its bytes in hex */
			char *hex = malloc(v->data.len * 2 + 1);
			if (!hex)
				abort();
			hex_encode_bytes(v->data.data, v->data.len, hex);
			val = json_string(hex);
			json_object_set_new(o, "encoding", json_string("hex2bin"));
			free(hex);
		}
	}
	json_object_set_new(o, "value", val);
	json_object_set_new(o, "page", json_integer(v->page));
	json_object_set_new(o, "entry", json_integer(v->slot));
	buf_wipe_data(&txt);
	return o;
}

json_t *nvs_read_to_json(const struct nvs_read_result *r)
{
	json_t *root = json_object();
	json_t *pages = json_array();
	for (size_t i = 0; i < r->page_count; i++) {
		const struct nvs_read_page *p = &r->pages[i];
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer(p->index));
		json_object_set_new(o, "state", json_string(p->blank ? "BLANK"
							     : nvs_read_name_page_state(p->state)));
		if (!p->blank) {
			json_object_set_new(o, "seq", json_integer(p->seq));
			json_object_set_new(o, "version",
					    json_integer(p->version_byte == NVS_VERSION_BYTE_V1 ? 1
							 : p->version_byte == NVS_VERSION_BYTE_V2
							 ? 2 : 0));
			json_object_set_new(o, "header_crc_ok", json_boolean(p->header_crc_ok));
		}
		json_object_set_new(o, "written", json_integer(p->written));
		json_object_set_new(o, "erased", json_integer(p->erased));
		json_object_set_new(o, "free", json_integer(p->empty));
		json_array_append_new(pages, o);
	}
	json_object_set_new(root, "pages", pages);
	json_t *nss = json_array();
	for (unsigned i = 1; i < 255; i++) {
		if (!r->ns_defined[i])
			continue;
		json_t *o = json_object();
		json_object_set_new(o, "index", json_integer(i));
		json_object_set_new(o, "name", json_string(r->ns_names[i]));
		json_array_append_new(nss, o);
	}
	json_object_set_new(root, "namespaces", nss);
	json_t *ents = json_array();
	for (size_t i = 0; i < r->entry_count; i++) {
		const struct nvs_read_entry *en = &r->entries[i];
		json_t *o = json_object();
		json_object_set_new(o, "page", json_integer(en->page));
		json_object_set_new(o, "entry", json_integer(en->slot));
		json_object_set_new(o, "state", json_string(nvs_read_name_entry_state(en->state)));
		json_object_set_new(o, "namespace", json_integer(en->ns));
		json_object_set_new(o, "type", json_string(nvs_type_name((enum nvs_type)en->type)));
		json_object_set_new(o, "span", json_integer(en->span));
		json_object_set_new(o, "chunk", json_integer(en->chunk));
		json_t *k = json_string(en->key);
		json_object_set_new(o, "key", k ? k : json_null());
		json_object_set_new(o, "crc_ok", json_boolean(en->crc_ok));
		json_object_set_new(o, "data_crc_ok", json_boolean(en->data_crc_ok));
		json_object_set_new(o, "problem", en->problem[0] ? json_string(en->problem)
								  : json_null());
		json_array_append_new(ents, o);
	}
	json_object_set_new(root, "entries", ents);
	json_t *vals = json_array();
	for (size_t i = 0; i < r->value_count; i++)
		json_array_append_new(vals, nvs_read_value_json(&r->values[i]));
	json_object_set_new(root, "values", vals);
	json_object_set_new(root, "problem_count", json_integer((json_int_t)r->problem_count));
	json_object_set_new(root, "first_problem",
			    r->problem_count ? json_string(r->first_problem) : json_null());
	if (r->problem_count) { /* only when damaged: a sound image's document stays as it was */
		json_t *all = json_array();
		for (size_t i = 0; i < r->problem_count; i++)
			json_array_append_new(all, json_string(r->problems[i]));
		json_object_set_new(root, "problems", all);
	}
	return root;
}
