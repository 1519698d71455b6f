/* The dashboard's static files (gw_ui.c), served under /ui/. */
#ifndef GW_UI_H
#define GW_UI_H

#include "gw.h"

/* Answers a GET or HEAD for /ui<rest> from the directory ui_dir (the build of ui/): rest is
 * "" (redirected to /ui/), "/" (index.html) or "/<file>". Returns the status sent. No key
 * is needed: the files are public, and the dashboard sends the user's key to the API itself.
 * @locality any civetweb worker thread. */
int gw_ui_serve(struct gw_req *r, const char *rest);

#endif
