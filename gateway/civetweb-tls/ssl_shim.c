/* libssl.so for Debian's civetweb: lets the gateway serve HTTPS.
 *
 * Debian bookworm's libcivetweb1 (1.15) loads OpenSSL at run time with dlopen("libssl.so")
 * and dlsym()s every function it uses, one of them SSL_get_peer_certificate. OpenSSL 3 no
 * longer exports that name (it is a macro for SSL_get1_peer_certificate, the same function),
 * so the lookup fails and civetweb refuses TLS ("load_tls_dll: libssl.so: cannot find
 * SSL_get_peer_certificate"). This library is found first because the gateway's DT_RPATH
 * names its directory; it needs the real libssl.so.3, so dlsym() on it finds every other
 * function there, and it supplies the one missing name. */
#include <openssl/ssl.h>

#undef SSL_get_peer_certificate
X509 *SSL_get_peer_certificate(const SSL *s);

X509 *SSL_get_peer_certificate(const SSL *s)
{
    return SSL_get1_peer_certificate(s);
}
