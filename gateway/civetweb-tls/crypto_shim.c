/* libcrypto.so for Debian's civetweb: it dlopen()s "libcrypto.so", a name only libssl-dev
 * provides; this library needs the real libcrypto.so.3, so dlsym() on it finds everything
 * there and the gateway does not depend on a development package at run time. */
int hl_civetweb_crypto_shim(void);

int hl_civetweb_crypto_shim(void)
{
    return 0;
}
