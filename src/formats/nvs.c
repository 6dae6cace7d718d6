#include "formats/nvs.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

void nvs_list_init(struct nvs_list *l)
{
	memset(l, 0, sizeof *l);
}

void nvs_list_free(struct nvs_list *l)
{
	for (size_t i = 0; i < l->count; i++) {
		buf_wipe_data(&l->items[i].data);
		free(l->items[i].origin);
	}
	free(l->items);
	memset(l, 0, sizeof *l);
}

int nvs_check_key(const char *key, err_t *e)
{
	size_t n = strlen(key);
	if (n == 0)
		return err_set_msg(e, ERR_CHECK, "key is empty");
	if (n > NVS_KEY_MAX)
		return err_set_msg(e, ERR_CHECK, "key '%s' is %zu bytes long; at most %u are allowed",
				   key, n, NVS_KEY_MAX);
	return 0;
}

static struct nvs_item *nvs_list_push_item(struct nvs_list *l, enum nvs_item_kind kind,
					    const char *key, enum nvs_type type, err_t *e)
{
	if (nvs_check_key(key, e))
		return NULL;
	if (l->count == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct nvs_item *p = realloc(l->items, cap * sizeof *p);
		if (!p)
			abort();
		l->items = p;
		l->cap = cap;
	}
	struct nvs_item *it = &l->items[l->count++];
	memset(it, 0, sizeof *it);
	it->kind = kind;
	memcpy(it->key, key, strlen(key) + 1);
	it->type = type;
	return it;
}

int nvs_list_add_namespace(struct nvs_list *l, const char *name, err_t *e)
{
	return nvs_list_push_item(l, NVS_ITEM_NAMESPACE, name, NVS_TYPE_U8, e) ? 0 : -1;
}

bool nvs_type_is_int(enum nvs_type t)
{
	switch (t) {
	case NVS_TYPE_U8: case NVS_TYPE_I8: case NVS_TYPE_U16: case NVS_TYPE_I16:
	case NVS_TYPE_U32: case NVS_TYPE_I32: case NVS_TYPE_U64: case NVS_TYPE_I64:
		return true;
	default:
		return false;
	}
}

bool nvs_type_is_signed(enum nvs_type t)
{
	return nvs_type_is_int(t) && (t & 0x10);
}

unsigned nvs_type_width(enum nvs_type t)
{
	return nvs_type_is_int(t) ? (unsigned)(t & 0x0F) : 0;
}

int nvs_list_add_int(struct nvs_list *l, const char *key, enum nvs_type type, uint64_t value,
		     err_t *e)
{
	if (!nvs_type_is_int(type))
		return err_set_msg(e, ERR_CHECK, "key '%s': type 0x%02x is not an integer type", key,
				   (unsigned)type);
	unsigned bits = nvs_type_width(type) * 8;
	if (bits < 64) {
		if (nvs_type_is_signed(type)) {
			int64_t v = (int64_t)value, lim = (int64_t)1 << (bits - 1);
			if (v < -lim || v >= lim)
				return err_set_msg(e, ERR_CHECK,
						   "key '%s': %lld is out of range for %s", key,
						   (long long)v, nvs_type_name(type));
		} else if (value >> bits) {
			return err_set_msg(e, ERR_CHECK, "key '%s': %llu is out of range for %s", key,
					   (unsigned long long)value, nvs_type_name(type));
		}
	}
	struct nvs_item *it = nvs_list_push_item(l, NVS_ITEM_DATA, key, type, e);
	if (!it)
		return -1;
	it->num = value;
	return 0;
}

int nvs_list_add_u8(struct nvs_list *l, const char *key, uint8_t value, err_t *e)
{
	return nvs_list_add_int(l, key, NVS_TYPE_U8, value, e);
}

int nvs_list_add_u16(struct nvs_list *l, const char *key, uint16_t value, err_t *e)
{
	return nvs_list_add_int(l, key, NVS_TYPE_U16, value, e);
}

int nvs_list_add_u32(struct nvs_list *l, const char *key, uint32_t value, err_t *e)
{
	return nvs_list_add_int(l, key, NVS_TYPE_U32, value, e);
}

int nvs_list_add_raw_string(struct nvs_list *l, const char *key, const void *p, size_t n,
			    err_t *e)
{
	struct nvs_item *it = nvs_list_push_item(l, NVS_ITEM_DATA, key, NVS_TYPE_SZ, e);
	if (!it)
		return -1;
	buf_append_bytes(&it->data, p, n);
	return 0;
}

int nvs_list_add_string(struct nvs_list *l, const char *key, const char *s, err_t *e)
{
	return nvs_list_add_raw_string(l, key, s, strlen(s) + 1, e);
}

int nvs_list_add_blob(struct nvs_list *l, const char *key, const void *p, size_t n, err_t *e)
{
	struct nvs_item *it = nvs_list_push_item(l, NVS_ITEM_DATA, key, NVS_TYPE_BLOB, e);
	if (!it)
		return -1;
	/* An empty blob still gets an (empty) allocation so data.data is never NULL with len 0
	 * ambiguity for callers that memcpy. */
	buf_reserve_bytes(&it->data, n ? n : 1);
	buf_append_bytes(&it->data, p, n);
	return 0;
}

void nvs_list_set_origin(struct nvs_list *l, const char *origin)
{
	if (!l->count)
		return;
	struct nvs_item *it = &l->items[l->count - 1];
	free(it->origin);
	it->origin = origin ? mem_strdup(origin) : NULL;
}

const char *nvs_type_name(enum nvs_type t)
{
	switch (t) {
	case NVS_TYPE_U8: return "u8";
	case NVS_TYPE_I8: return "i8";
	case NVS_TYPE_U16: return "u16";
	case NVS_TYPE_I16: return "i16";
	case NVS_TYPE_U32: return "u32";
	case NVS_TYPE_I32: return "i32";
	case NVS_TYPE_U64: return "u64";
	case NVS_TYPE_I64: return "i64";
	case NVS_TYPE_SZ: return "string";
	case NVS_TYPE_BLOB: return "blob";
	case NVS_TYPE_BLOB_DATA: return "blob_data";
	case NVS_TYPE_BLOB_IDX: return "blob_index";
	case NVS_TYPE_ANY: return "any";
	}
	return "unknown";
}

int nvs_type_parse_int_name(const char *name, enum nvs_type *t)
{
	static const enum nvs_type all[] = {NVS_TYPE_U8,  NVS_TYPE_I8,  NVS_TYPE_U16, NVS_TYPE_I16,
					    NVS_TYPE_U32, NVS_TYPE_I32, NVS_TYPE_U64, NVS_TYPE_I64};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
		if (strcasecmp(name, nvs_type_name(all[i])) == 0) {
			*t = all[i];
			return 0;
		}
	}
	return -1;
}
