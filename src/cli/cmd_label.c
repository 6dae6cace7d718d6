/* espfab label: renders (and prints) a device label from its onboarding codes, so a technician
 * can reprint a lost or damaged label without re-provisioning the device. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/fileio.h"
#include "formats/payload.h"
#include "label/label_layout.h"
#include "label/label_png.h"
#include "label/label_print.h"
#include "label/label_template.h"
#include "label/label_term.h"
#include "label/label_zpl.h"

#define LABEL_USAGE                                                                                   \
	"usage: espfab label --qr STRING [--manual CODE] [--serial S] [--product P] [--template F]\n" \
	"                    [--ecc L|M|Q|H] [--dpi N] [--qr-only [--module DOTS | --size DOTS]]\n"                   \
	"                    (--png OUT | --zpl OUT | --terminal [--inverted] |\n"                       \
	"                     --print PRINTER [--raw] [--title T] [--wait SECONDS] | --print-to FILE [--raw])\n"

struct label_args {
	const char *qr, *manual, *serial, *product, *template_path, *ecc, *dpi, *module, *size;
	const char *png, *zpl, *print, *print_to, *title, *wait;
	int terminal, inverted, raw, qr_only;
};

/* Accepts --opt VALUE, --opt=VALUE and -opt VALUE, anywhere on the line. */
static int label_parse_args(int argc, char **argv, struct label_args *a, err_t *e)
{
	struct {
		const char *name;
		const char **value;
		int *flag;
	} opts[] = {
		{"qr", &a->qr, NULL},           {"manual", &a->manual, NULL},   {"serial", &a->serial, NULL},
		{"product", &a->product, NULL}, {"template", &a->template_path, NULL},
		{"ecc", &a->ecc, NULL},         {"dpi", &a->dpi, NULL},         {"module", &a->module, NULL},
		{"size", &a->size, NULL},
		{"png", &a->png, NULL},         {"zpl", &a->zpl, NULL},         {"print", &a->print, NULL},
		{"print-to", &a->print_to, NULL}, {"title", &a->title, NULL}, {"wait", &a->wait, NULL},
		{"terminal", NULL, &a->terminal}, {"inverted", NULL, &a->inverted}, {"raw", NULL, &a->raw},
		{"qr-only", NULL, &a->qr_only},
	};
	for (int i = 1; i < argc; i++) {
		const char *arg = argv[i];
		if (arg[0] != '-' || !arg[1])
			return err_set_msg(e, ERR_USAGE, "unexpected argument '%s'\n%s", arg, LABEL_USAGE);
		const char *name = arg + (arg[1] == '-' ? 2 : 1);
		const char *eq = strchr(name, '=');
		size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
		if (!strcmp(name, "help") || !strcmp(name, "h"))
			return err_set_msg(e, ERR_USAGE, "%s", LABEL_USAGE);
		size_t k;
		for (k = 0; k < sizeof opts / sizeof opts[0]; k++)
			if (strlen(opts[k].name) == nlen && !strncmp(opts[k].name, name, nlen))
				break;
		if (k == sizeof opts / sizeof opts[0])
			return err_set_msg(e, ERR_USAGE, "unknown option '%s'\n%s", arg, LABEL_USAGE);
		if (opts[k].flag) {
			if (eq)
				return err_set_msg(e, ERR_USAGE, "option --%s takes no value", opts[k].name);
			*opts[k].flag = 1;
			continue;
		}
		if (eq) {
			*opts[k].value = eq + 1;
		} else {
			if (i + 1 >= argc)
				return err_set_msg(e, ERR_USAGE, "option --%s needs a value", opts[k].name);
			*opts[k].value = argv[++i];
		}
	}
	int outputs = !!a->png + !!a->zpl + a->terminal + (a->print || a->print_to);
	if (!a->qr)
		return err_set_msg(e, ERR_USAGE, "--qr is required\n%s", LABEL_USAGE);
	if (!a->manual && !a->qr_only && strncmp(a->qr, "MT:", 3) != 0)
		return err_set_msg(e, ERR_USAGE, "--manual is required unless --qr is a Matter \"MT:\" code\n%s",
				   LABEL_USAGE);
	if (outputs != 1)
		return err_set_msg(e, ERR_USAGE,
				   "give exactly one of --png, --zpl, --terminal, --print/--print-to\n%s", LABEL_USAGE);
	if (a->raw && !(a->print || a->print_to))
		return err_set_msg(e, ERR_USAGE, "--raw goes with --print or --print-to");
	if ((a->module || a->size) && !a->qr_only)
		return err_set_msg(e, ERR_USAGE, "--module and --size go with --qr-only (a label's size is its template's)");
	if (a->module && a->size)
		return err_set_msg(e, ERR_USAGE, "give --module or --size, not both");
	if (a->wait && !a->print)
		return err_set_msg(e, ERR_USAGE, "--wait goes with --print");
	if (a->inverted && !a->terminal)
		return err_set_msg(e, ERR_USAGE, "--inverted goes with --terminal");
	return 0;
}

static int label_render_png(const struct label_args *a, const struct label_template *t,
			    const struct label_data *d, buf_t *out, err_t *e)
{
	struct label_image img;
	if (a->qr_only) {
		uint32_t module = 8, size = 0;
		if (a->module && cli_parse_u32(a->module, "--module", &module, e))
			return -1;
		if (a->size && cli_parse_u32(a->size, "--size", &size, e))
			return -1;
		if (module < 1 || module > 100)
			return err_set_msg(e, ERR_USAGE, "--module %u: from 1 to 100 dots", module);
		if (a->size && (size < 21 + 2 * QR_QUIET_ZONE || size > 10000))
			return err_set_msg(e, ERR_USAGE, "--size %u: from %d to 10000 dots", size, 21 + 2 * QR_QUIET_ZONE);
		struct qr_matrix qr;
		if (qr_encode_text(d->qr, t->ecc, &qr, e))
			return -1;
		if (a->size)
			module = (uint32_t)label_image_fit_module(&qr, (int)size);
		label_image_render_qr(&qr, (int)module, &img);
		qr_free_matrix(&qr);
	} else if (label_render_image(t, d, &img, e)) {
		return -1;
	}
	int rc = label_png_encode(&img, t->dpi, out, e);
	label_image_free(&img);
	return rc;
}

static int label_render_zpl(const struct label_args *a, const struct label_template *t,
			    const struct label_data *d, buf_t *out, err_t *e)
{
	if (!a->qr_only)
		return label_zpl_render_label(t, d, out, e);
	uint32_t module = 4, size = 0;
	if (a->module && cli_parse_u32(a->module, "--module", &module, e))
		return -1;
	if (a->size) {
		if (cli_parse_u32(a->size, "--size", &size, e))
			return -1;
		struct qr_matrix qr;
		if (qr_encode_text(d->qr, t->ecc, &qr, e))
			return -1;
		module = (uint32_t)label_image_fit_module(&qr, (int)size);
		qr_free_matrix(&qr);
	}
	return label_zpl_render_qr(d->qr, t->ecc, (int)module, out, e);
}

static int label_show_terminal(const struct label_args *a, const struct label_template *t,
			       const struct label_data *d, err_t *e)
{
	struct qr_matrix qr;
	char manual[64] = "";
	if (d->manual && label_format_manual(d->manual, t->manual_group, manual, sizeof manual, e))
		return -1;
	if (qr_encode_text(d->qr, t->ecc, &qr, e))
		return -1;
	buf_t b = BUF_INIT;
	label_term_render_qr(&qr, a->inverted, &b);
	qr_free_matrix(&qr);
	fwrite(b.data, 1, b.len, stdout);
	buf_free_data(&b);
	if (d->product)
		printf("%s\n", d->product);
	if (manual[0]) {
		/* a 21-digit code comes in two lines: the second lines up under the first */
		printf("Manual code: ");
		for (const char *c = manual; *c; c++)
			fputs(*c == '\n' ? "\n             " : (char[]){*c, 0}, stdout);
		printf("\n");
	}
	if (d->serial)
		printf("Serial: %s\n", d->serial);
	return 0;
}

/* A label whose manual code belongs to another device than its QR code would commission the
 * wrong device, so for a Matter QR code the manual code is derived from it when not given, and
 * checked against it when given (passcode, short discriminator, VID/PID when present). */
static int label_match_codes(const char *qr, const char *manual, char derived[PAYLOAD_MANUAL_MAX], err_t *e)
{
	struct payload q, m;
	if (payload_parse_qr(qr, &q, e))
		return err_prepend_context(e, "--qr");
	if (!manual)
		return payload_encode_manual(&q, q.flow != PAYLOAD_FLOW_STANDARD, derived, e);
	if (payload_parse_manual(manual, &m, e))
		return err_prepend_context(e, "--manual");
	if (m.passcode != q.passcode || (m.discriminator >> 8) != (q.discriminator >> 8) ||
	    (m.has_vid_pid && (m.vid != q.vid || m.pid != q.pid)))
		return err_set_msg(e, ERR_CHECK,
				   "manual code %s does not belong to QR code %s (different passcode, discriminator or "
				   "VID/PID)", manual, qr);
	return 0;
}

static int cmd_label_run(int argc, char **argv, err_t *e)
{
	struct label_args a = {0};
	if (label_parse_args(argc, argv, &a, e))
		return ERR_USAGE;
	struct label_template t;
	if (a.template_path) {
		if (label_template_load_file(a.template_path, &t, e))
			return e->code ? e->code : ERR_CHECK;
	} else {
		label_template_init_default(&t);
	}
	if (a.ecc && qr_parse_ecc(a.ecc, &t.ecc, e))
		return ERR_USAGE;
	if (a.dpi) {
		uint32_t dpi;
		if (cli_parse_u32(a.dpi, "--dpi", &dpi, e))
			return ERR_USAGE;
		if (dpi < 72 || dpi > 2400) {
			err_set_msg(e, ERR_USAGE, "--dpi %u: from 72 to 2400", dpi);
			return ERR_USAGE;
		}
		t.dpi = dpi;
	}
	char derived[PAYLOAD_MANUAL_MAX] = "";
	if (!strncmp(a.qr, "MT:", 3) && label_match_codes(a.qr, a.qr_only ? NULL : a.manual, derived, e))
		return e->code ? e->code : ERR_CHECK;
	struct label_data d = {a.qr, a.manual ? a.manual : (derived[0] ? derived : NULL), a.serial, a.product};

	if (a.terminal)
		return label_show_terminal(&a, &t, &d, e) ? (e->code ? e->code : ERR_CHECK) : 0;

	buf_t out = BUF_INIT;
	int zpl = a.zpl || ((a.print || a.print_to) && a.raw);
	int rc = zpl ? label_render_zpl(&a, &t, &d, &out, e) : label_render_png(&a, &t, &d, &out, e);
	if (rc == 0) {
		if (a.png || a.zpl) {
			rc = fileio_write_atomic(a.png ? a.png : a.zpl, out.data, out.len, FILEIO_MODE_PUBLIC, e);
		} else {
			struct label_print_job job = {
				.printer = a.print,
				.title = a.title,
				.format = zpl ? LABEL_PRINT_ZPL : LABEL_PRINT_PNG,
				.dpi = t.dpi,
				.to_file = a.print_to,
			};
			int job_id = 0;
			uint32_t wait_s = 0;
			if (a.wait && cli_parse_u32(a.wait, "--wait", &wait_s, e)) {
				buf_free_data(&out);
				return ERR_USAGE;
			}
			rc = label_print_data(&job, out.data, out.len, &job_id, e);
			if (rc == 0 && job_id) {
				printf("%s-%d\n", a.print, job_id);
				fflush(stdout);
				if (a.wait)
					rc = label_print_wait_job(a.print, job_id, (int)(wait_s > 3600 ? 3600 : wait_s) * 1000, e);
			}
		}
	}
	buf_free_data(&out);
	if (rc)
		return e->code ? e->code : ERR_CHECK;
	return 0;
}

CLI_COMMAND(label, "label", 80, "render or print a device label (QR, manual code, serial)", cmd_label_run)
