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
