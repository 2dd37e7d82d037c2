//! TLS: rustls with the ring provider, for every HTTPS client in the process (reqwest is
//! built without a provider of its own, so neither aws-lc-rs nor OpenSSL is compiled for it).
//! Build clients with [`blocking_client`]: a client built before the provider is installed
//! would panic.

/// Makes ring the process's rustls provider; calling again does nothing.
pub fn install() {
    // An error means a provider is already installed: ring, by an earlier call.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A blocking HTTP client builder, with the TLS provider in place.
pub fn blocking_client() -> reqwest::blocking::ClientBuilder {
    install();
    reqwest::blocking::Client::builder()
}

/// A blocking HTTP client builder for one endpoint. For a plain `http://` URL (a service in the
/// cluster, a local test server) the client trusts no certificate at all, so the system's CA
/// store is never loaded: TLS costs nothing unless HTTPS is used, and a redirect to HTTPS
/// fails closed.
pub fn blocking_client_for(url: &str) -> reqwest::blocking::ClientBuilder {
    let builder = blocking_client();
    match url.get(..7) {
        Some(scheme) if scheme.eq_ignore_ascii_case("http://") => {
            builder.tls_certs_only(Vec::new())
        }
        _ => builder,
    }
}
