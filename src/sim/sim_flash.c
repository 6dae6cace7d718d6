/* sim_flash: NOR flash model with a shared file mapping (see sim_flash.h). */
#include "sim/sim_flash.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"

static bool flash_size_valid(size_t size)
{
	if (size < 256u * 1024u || size > 128u * 1024u * 1024u)
		return false;
	return (size & (size - 1)) == 0;
}

static int flash_check_range(const sim_flash_t *f, uint32_t addr, size_t len, err_t *e)
{
	if ((uint64_t)addr + len > f->size)
		return err_set_msg(e, ERR_DEVICE,
				   "flash range 0x%08x+0x%zx is outside the %zu-byte chip", addr, len,
				   f->size);
	return 0;
}

int sim_flash_open(sim_flash_t *f, const char *path, size_t size, err_t *e)
{
	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (!path) {
		if (!size)
			size = SIM_FLASH_DEFAULT_SIZE;
		if (!flash_size_valid(size))
			return err_set_msg(e, ERR_USAGE, "flash size %zu is not a power of two from 256KB to 128MB", size);
		f->mem = mem_alloc_zeroed(size);
		memset(f->mem, 0xFF, size);
		f->size = size;
		return 0;
	}
	/* 0600: a provisioned image holds device secrets (esp_secure_cert, NVS keys). */
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set_msg(e, ERR_USAGE, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0) {
		int saved = errno;
		close(fd);
		return err_set_msg(e, ERR_USAGE, "%s: %s", path, strerror(saved));
	}
	bool fresh = st.st_size == 0;
	if (!fresh) {
		if (size && (size_t)st.st_size != size) {
			close(fd);
			return err_set_msg(e, ERR_USAGE, "%s holds %lld bytes but --flash-size is %zu", path,
					   (long long)st.st_size, size);
		}
		size = (size_t)st.st_size;
	} else if (!size) {
		size = SIM_FLASH_DEFAULT_SIZE;
	}
	if (!flash_size_valid(size)) {
		close(fd);
		return err_set_msg(e, ERR_USAGE,
				   "%s: flash size %zu is not a power of two from 256KB to 128MB", path, size);
	}
	if (fresh && ftruncate(fd, (off_t)size) != 0) {
		int saved = errno;
		close(fd);
		return err_set_msg(e, ERR_USAGE, "%s: %s", path, strerror(saved));
	}
	void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (m == MAP_FAILED) {
		int saved = errno;
		close(fd);
		return err_set_msg(e, ERR_USAGE, "%s: mmap: %s", path, strerror(saved));
	}
	f->mem = m;
	f->size = size;
	f->fd = fd;
	f->mapped = true;
	if (fresh) {
		memset(f->mem, 0xFF, size);
		if (msync(f->mem, size, MS_SYNC) != 0) {
			int saved = errno;
			sim_flash_close(f);
			return err_set_msg(e, ERR_USAGE, "%s: msync: %s", path, strerror(saved));
		}
	}
	return 0;
}

void sim_flash_close(sim_flash_t *f)
{
	if (f->mapped) {
		msync(f->mem, f->size, MS_SYNC);
		munmap(f->mem, f->size);
	} else {
		free(f->mem);
	}
	if (f->fd >= 0)
		close(f->fd);
	memset(f, 0, sizeof(*f));
	f->fd = -1;
}

int sim_flash_sync(sim_flash_t *f, err_t *e)
{
	if (f->mapped && msync(f->mem, f->size, MS_SYNC) != 0)
		return err_set_msg(e, ERR_DEVICE, "flash image msync: %s", strerror(errno));
	return 0;
}

int64_t sim_flash_erase(sim_flash_t *f, uint32_t addr, uint32_t len, err_t *e)
{
	if (!len)
		return 0;
	uint64_t start = addr & ~(uint64_t)(SIM_FLASH_SECTOR - 1);
	uint64_t end = ((uint64_t)addr + len + SIM_FLASH_SECTOR - 1) & ~(uint64_t)(SIM_FLASH_SECTOR - 1);
	if (end > f->size)
		return err_set_msg(e, ERR_DEVICE,
				   "erase 0x%08x+0x%x is outside the %zu-byte chip", addr, len, f->size);
	int64_t cost = 0;
	uint64_t a = start;
	while (a < end) {
		if ((a % SIM_FLASH_BLOCK) == 0 && end - a >= SIM_FLASH_BLOCK) {
			cost += SIM_FLASH_BLOCK_ERASE_US;
			a += SIM_FLASH_BLOCK;
		} else {
			cost += SIM_FLASH_SECTOR_ERASE_US;
			a += SIM_FLASH_SECTOR;
		}
	}
	memset(f->mem + start, 0xFF, (size_t)(end - start));
	return cost;
}

int64_t sim_flash_program(sim_flash_t *f, uint32_t addr, const uint8_t *data, size_t len, err_t *e)
{
	if (flash_check_range(f, addr, len, e))
		return -1;
	if (!len)
		return 0;
	for (size_t i = 0; i < len; i++)
		f->mem[addr + i] &= data[i];
	uint64_t first = addr / SIM_FLASH_PAGE;
	uint64_t last = ((uint64_t)addr + len - 1) / SIM_FLASH_PAGE;
	return (int64_t)(last - first + 1) * SIM_FLASH_PAGE_PROGRAM_US;
}

int sim_flash_read(const sim_flash_t *f, uint32_t addr, uint8_t *out, size_t len, err_t *e)
{
	if (flash_check_range(f, addr, len, e))
		return -1;
	memcpy(out, f->mem + addr, len);
	return 0;
}

int64_t sim_flash_md5_cost(size_t len)
{
	return (int64_t)((len + 1023) / 1024) * SIM_FLASH_MD5_US_PER_KIB;
}

uint32_t sim_flash_jedec_id(const sim_flash_t *f)
{
	uint32_t cap = 0;
	while ((1ull << cap) < f->size)
		cap++;
	return 0xEFu | 0x40u << 8 | cap << 16;
}
