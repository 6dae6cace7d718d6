#include "formats/nvs_write.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/checksum.h"

/* A page could not take the entry: the caller opens a new page and tries once more. */
#define NVS_WRITE_PAGE_FULL 1

struct nvs_writer {
	buf_t *out;
	uint32_t size;       /* partition size, for messages */
	uint64_t size_left;  /* bytes still available for new pages */
	bool size_unlimited; /* set for the final reserved page */
	bool have_page;
	uint32_t page_num;
	size_t page_off; /* offset of the current page in out */
	unsigned entry_num;
	int version;
	unsigned ns_count;
	char ns_names[NVS_MAX_NAMESPACES + 2][NVS_KEY_MAX + 1];
	const struct nvs_item *item; /* item being written, for messages */
};

int nvs_write_check_size(uint32_t size, bool *read_only, err_t *e)
{
	if (size % NVS_PAGE_SIZE)
		return err_set_msg(e, ERR_CHECK,
				   "partition size 0x%x (%u) is not a multiple of 4096", size, size);
	if (size < NVS_PAGE_SIZE)
		return err_set_msg(e, ERR_CHECK,
				   "partition size 0x%x is too small: read/write NVS needs at least "
				   "0x3000 bytes, read-only NVS 0x1000", size);
	*read_only = size - NVS_PAGE_SIZE < 2 * NVS_PAGE_SIZE;
	return 0;
}

static int nvs_write_item_error(struct nvs_writer *w, const char *what, const char *detail,
				err_t *e)
{
	const struct nvs_item *it = w->item;
	if (it && it->origin)
		return err_set_msg(e, ERR_CHECK, "%s: key '%s': %s%s", it->origin, it->key, what,
				   detail ? detail : "");
	if (it)
		return err_set_msg(e, ERR_CHECK, "key '%s': %s%s", it->key, what, detail ? detail : "");
	return err_set_msg(e, ERR_CHECK, "%s%s", what, detail ? detail : "");
}

static uint8_t *nvs_writer_page(struct nvs_writer *w)
{
	return w->out->data + w->page_off;
}

static void nvs_writer_set_header(struct nvs_writer *w)
{
	uint8_t *h = nvs_writer_page(w);
	checksum_write_u32le(h, NVS_PAGE_STATE_ACTIVE);
	checksum_write_u32le(h + 4, w->page_num);
	h[8] = w->version == 1 ? NVS_VERSION_BYTE_V1 : NVS_VERSION_BYTE_V2;
	checksum_write_u32le(h + 28, checksum_crc32_esp(h + 4, 24));
}

/* empty: a page without header or bitmap (the trailing pages and the reserved page). */
static int nvs_writer_new_page(struct nvs_writer *w, bool reserved, bool empty, err_t *e)
{
	if (w->have_page && !empty) {
		uint8_t *h = nvs_writer_page(w);
		if (checksum_read_u32le(h) == NVS_PAGE_STATE_ACTIVE)
			checksum_write_u32le(h, NVS_PAGE_STATE_FULL);
	}
	if (!w->size_unlimited && w->size_left == 0) {
		char detail[96];
		snprintf(detail, sizeof detail, " (0x%x); increase the size", w->size);
		return nvs_write_item_error(w, "the data does not fit in the partition size",
					    detail, e);
	}
	if (!reserved)
		w->size_left -= NVS_PAGE_SIZE;
	w->page_num = w->have_page ? w->page_num + 1 : 0;
	w->have_page = true;
	w->page_off = w->out->len;
	buf_append_fill(w->out, 0xFF, NVS_PAGE_SIZE);
	w->entry_num = 0;
	if (!empty)
		nvs_writer_set_header(w);
	return 0;
}

static void nvs_writer_seal_entry(uint8_t *ent)
{
	uint8_t tmp[28];
	memcpy(tmp, ent, 4);
	memcpy(tmp + 4, ent + 8, 24);
	checksum_write_u32le(ent + 4, checksum_crc32_esp(tmp, sizeof tmp));
}

/* Copies len bytes to the next free entries and marks count entries written in the bitmap. */
static int nvs_writer_put_entries(struct nvs_writer *w, const uint8_t *data, size_t len,
				  unsigned count, err_t *e)
{
	if (w->entry_num + count > NVS_ENTRIES_PER_PAGE || len > (size_t)count * NVS_ENTRY_SIZE)
		return nvs_write_item_error(w, "internal error: page overflow", NULL, e);
	uint8_t *page = nvs_writer_page(w);
	if (len)
		memcpy(page + NVS_FIRST_ENTRY_OFFSET + NVS_ENTRY_SIZE * w->entry_num, data, len);
	for (unsigned i = 0; i < count; i++) {
		unsigned bit = w->entry_num * 2;
		page[32 + bit / 8] &= (uint8_t)~(1u << (bit % 8));
		w->entry_num++;
	}
	return 0;
}

static void nvs_writer_init_entry(uint8_t *ent, uint8_t ns, const char *key)
{
	memset(ent, 0xFF, NVS_ENTRY_SIZE);
	ent[0] = ns;
	memset(ent + 8, 0, 16);
	memcpy(ent + 8, key, strlen(key));
}

static int nvs_writer_put_primitive(struct nvs_writer *w, const char *key, enum nvs_type type,
				    uint64_t value, uint8_t ns, err_t *e)
{
	if (w->entry_num >= NVS_ENTRIES_PER_PAGE)
		return NVS_WRITE_PAGE_FULL;
	uint8_t ent[NVS_ENTRY_SIZE];
	nvs_writer_init_entry(ent, ns, key);
	ent[1] = (uint8_t)type;
	ent[2] = 1;
	ent[3] = 0xFF;
	for (unsigned i = 0; i < nvs_type_width(type); i++)
		ent[24 + i] = (uint8_t)(value >> (8 * i));
	nvs_writer_seal_entry(ent);
	return nvs_writer_put_entries(w, ent, sizeof ent, 1, e);
}

static unsigned nvs_entries_for(size_t len)
{
	return (unsigned)((len + NVS_ENTRY_SIZE - 1) / NVS_ENTRY_SIZE);
}

/* Format 2 binary data: BLOB_DATA chunks that fill each page, then a BLOB_IDX entry. */
static int nvs_writer_put_chunked_blob(struct nvs_writer *w, uint8_t *ent, const uint8_t *data,
				       size_t size, err_t *e)
{
	const unsigned chunk_start = 0;
	unsigned chunk_count = 0;
	size_t offset = 0, remaining = size;
	for (;;) {
		size_t tailroom = (size_t)(NVS_ENTRIES_PER_PAGE - w->entry_num - 1) * NVS_ENTRY_SIZE;
		size_t chunk = remaining < tailroom ? remaining : tailroom;
		remaining -= chunk;
		if (chunk_start + chunk_count > 0xFF)
			return nvs_write_item_error(w, "blob needs more than 255 chunks", NULL, e);
		unsigned n = nvs_entries_for(chunk);
		ent[1] = NVS_TYPE_BLOB_DATA;
		ent[2] = (uint8_t)(n + 1);
		ent[3] = (uint8_t)(chunk_start + chunk_count);
		checksum_write_u16le(ent + 24, (uint16_t)chunk);
		checksum_write_u32le(ent + 28, checksum_crc32_esp(data + offset, chunk));
		nvs_writer_seal_entry(ent);
		if (nvs_writer_put_entries(w, ent, NVS_ENTRY_SIZE, 1, e) ||
		    nvs_writer_put_entries(w, data + offset, chunk, n, e))
			return -1;
		chunk_count++;
		if (remaining || tailroom - chunk < NVS_ENTRY_SIZE) {
			if (nvs_writer_new_page(w, false, false, e))
				return -1;
		}
		offset += chunk;
		if (!remaining)
			break;
	}
	memset(ent + 24, 0xFF, 8);
	ent[1] = NVS_TYPE_BLOB_IDX;
	ent[2] = 1;
	ent[3] = 0xFF;
	checksum_write_u32le(ent + 24, (uint32_t)size);
	ent[28] = (uint8_t)chunk_count;
	ent[29] = (uint8_t)chunk_start;
	nvs_writer_seal_entry(ent);
	return nvs_writer_put_entries(w, ent, NVS_ENTRY_SIZE, 1, e);
}

static int nvs_writer_put_varlen(struct nvs_writer *w, const char *key, bool is_string,
				 const uint8_t *data, size_t len, uint8_t ns, err_t *e)
{
	size_t max = w->version == 1 ? NVS_BLOB_V1_MAX : NVS_STRING_MAX;
	if ((w->version == 1 || is_string) && len > max) {
		char detail[96];
		snprintf(detail, sizeof detail, "%zu bytes exceed the maximum of %zu", len, max);
		return nvs_write_item_error(w, "", detail, e);
	}
	unsigned n = nvs_entries_for(len);
	bool chunked = w->version == 2 && !is_string;
	if (w->entry_num >= NVS_ENTRIES_PER_PAGE)
		return NVS_WRITE_PAGE_FULL;
	if (w->entry_num + n + 1 >= NVS_ENTRIES_PER_PAGE && !chunked)
		return NVS_WRITE_PAGE_FULL;
	uint8_t ent[NVS_ENTRY_SIZE];
	nvs_writer_init_entry(ent, ns, key);
	ent[3] = 0xFF;
	if (!chunked || is_string)
		ent[2] = (uint8_t)(n + 1);
	ent[1] = is_string ? NVS_TYPE_SZ : NVS_TYPE_BLOB;
	if (chunked)
		return nvs_writer_put_chunked_blob(w, ent, data, len, e);
	checksum_write_u16le(ent + 24, (uint16_t)len);
	checksum_write_u32le(ent + 28, checksum_crc32_esp(data, len));
	nvs_writer_seal_entry(ent);
	if (nvs_writer_put_entries(w, ent, NVS_ENTRY_SIZE, 1, e))
		return -1;
	return nvs_writer_put_entries(w, data, len, n, e);
}

static int nvs_writer_put_item(struct nvs_writer *w, const struct nvs_item *it, uint8_t ns,
			       err_t *e)
{
	if (it->kind == NVS_ITEM_NAMESPACE)
		return nvs_writer_put_primitive(w, it->key, NVS_TYPE_U8, ns, 0, e);
	if (nvs_type_is_int(it->type))
		return nvs_writer_put_primitive(w, it->key, it->type, it->num, ns, e);
	if (it->type == NVS_TYPE_SZ || it->type == NVS_TYPE_BLOB)
		return nvs_writer_put_varlen(w, it->key, it->type == NVS_TYPE_SZ, it->data.data,
					     it->data.len, ns, e);
	return nvs_write_item_error(w, "unsupported item type ", nvs_type_name(it->type), e);
}

static int nvs_writer_add_item(struct nvs_writer *w, const struct nvs_item *it, err_t *e)
{
	uint8_t ns;
	w->item = it;
	if (nvs_check_key(it->key, e)) {
		if (it->origin)
			err_prepend_context(e, "%s", it->origin);
		return -1;
	}
	if (it->kind == NVS_ITEM_NAMESPACE) {
		for (unsigned i = 1; i <= w->ns_count; i++)
			if (strcmp(w->ns_names[i], it->key) == 0)
				return 0; /* declared before: the generator writes nothing */
		if (w->ns_count >= NVS_MAX_NAMESPACES)
			return nvs_write_item_error(w, "more than 254 namespaces", NULL, e);
		w->ns_count++;
		memcpy(w->ns_names[w->ns_count], it->key, sizeof it->key);
		ns = (uint8_t)w->ns_count;
	} else {
		if (w->ns_count == 0)
			return nvs_write_item_error(w, "no namespace declared before this key", NULL,
						    e);
		/* The generator tags every item with the newest namespace index, even after an
		 * older namespace was named again (vector n02). */
		ns = (uint8_t)w->ns_count;
	}
	int rc = nvs_writer_put_item(w, it, ns, e);
	if (rc != NVS_WRITE_PAGE_FULL)
		return rc;
	if (nvs_writer_new_page(w, false, false, e))
		return -1;
	rc = nvs_writer_put_item(w, it, ns, e);
	if (rc == NVS_WRITE_PAGE_FULL)
		return nvs_write_item_error(w, "the value does not fit in one page", NULL, e);
	return rc;
}

int nvs_write_partition(const struct nvs_list *l, uint32_t size, int version, buf_t *out,
			err_t *e)
{
	bool read_only = false;
	if (version != 1 && version != 2)
		return err_set_msg(e, ERR_CHECK, "format version %d is not 1 or 2", version);
	if (nvs_write_check_size(size, &read_only, e))
		return -1;
	struct nvs_writer *w = mem_alloc_zeroed(sizeof *w);
	buf_t img = BUF_INIT;
	w->out = &img;
	w->size = size;
	w->size_left = read_only ? size : size - NVS_PAGE_SIZE;
	w->version = version;
	int rc = nvs_writer_new_page(w, false, false, e);
	for (size_t i = 0; rc == 0 && i < l->count; i++)
		rc = nvs_writer_add_item(w, &l->items[i], e);
	w->item = NULL;
	if (rc == 0 && !read_only) {
		/* Trailing pages stay blank so the last written page remains ACTIVE; the final page
		 * is the spare one NVS needs for garbage collection. */
		while (rc == 0 && w->size_left)
			rc = nvs_writer_new_page(w, false, true, e);
		w->size_unlimited = true;
		if (rc == 0)
			rc = nvs_writer_new_page(w, true, true, e);
	}
	free(w);
	if (rc) {
		buf_wipe_data(&img);
		return -1;
	}
	buf_wipe_data(out);
	*out = img;
	return 0;
}
