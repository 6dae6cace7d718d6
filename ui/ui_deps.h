/* ui_deps: which backend modules this build has. The front end is written against the
 * interfaces of DESIGN.md §3 (event queue, labels, ports, formats, engine); a module not yet in
 * the tree turns the feature that needs it into a message instead of a build failure. */
#ifndef ESPFAB_UI_DEPS_H
#define ESPFAB_UI_DEPS_H

/* Screen text is clipped to its window by design: a truncated snprintf is the intended result
 * everywhere in ui/, not a bug to warn about. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#if __has_include("core/evq.h")
#define UI_HAVE_EVQ 1
#else
#define UI_HAVE_EVQ 0
#endif

#if __has_include("label/label_term.h") && __has_include("label/qr.h")
#define UI_HAVE_LABEL 1
#else
#define UI_HAVE_LABEL 0
#endif

#if __has_include("link/port_list.h")
#define UI_HAVE_PORTS 1
#else
#define UI_HAVE_PORTS 0
#endif

#if __has_include("formats/parttable.h")
#define UI_HAVE_PARTTABLE 1
#else
#define UI_HAVE_PARTTABLE 0
#endif

#if __has_include("formats/nvs_read.h")
#define UI_HAVE_NVS 1
#else
#define UI_HAVE_NVS 0
#endif

#if __has_include("formats/payload.h")
#define UI_HAVE_PAYLOAD 1
#else
#define UI_HAVE_PAYLOAD 0
#endif

#endif
