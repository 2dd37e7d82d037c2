//! TLS: rustls with the ring provider, for every HTTPS client in the process (reqwest is
//! built without a provider of its own, so neither aws-lc-rs nor OpenSSL is compiled for it).

/// Makes ring the process's rustls provider. Call before building any HTTP client; calling
/// again does nothing.
pub fn install() {
    // An error means a provider is already installed: ring, by an earlier call.
    let _ = rustls::crypto::ring::default_provider().install_default();
}
