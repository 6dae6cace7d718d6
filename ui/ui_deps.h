/* ui_deps: which optional backend modules this build has. The front end is written against the
 * interfaces of DESIGN.md §3; a module not yet in the tree (the provisioning engine's worker)
 * turns the feature that needs it into a message instead of a build failure. */
#ifndef ESPFAB_UI_DEPS_H
#define ESPFAB_UI_DEPS_H

/* Screen text is clipped to its window by design: a truncated snprintf is the intended result
 * everywhere in ui/, not a bug to warn about. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

/* the provisioning engine's worker thread behind the event queues (src/flow/worker) */
#if __has_include("flow/worker.h")
#define UI_HAVE_ENGINE 1
#else
#define UI_HAVE_ENGINE 0
#endif

#endif
