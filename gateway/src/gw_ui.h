/* The dashboard's static files under /ui/ (gw_ui.c). They are not part of the API, so they
 * have their own route table instead of a place among the API's resources (gw_routes.c),
 * which schemas/openapi.json documents one for one. */
#ifndef GW_UI_H
#define GW_UI_H

#include <stdbool.h>

struct gw_req;

/* Whether uri is the dashboard's: /ui or below. */
bool gw_ui_claims(const char *uri);
/* Answers a request gw_ui_claims: GET and HEAD of /ui/ (index.html), /ui/<file> and
 * /ui/assets/<file> from ui_dir; 404, 405 and the redirect of /ui to /ui/ otherwise. No key
 * is needed: the files are public, and the dashboard sends the user's key to the API.
 * Returns the status sent. @locality any civetweb worker thread */
int gw_ui_serve(struct gw_req *r);

#endif
