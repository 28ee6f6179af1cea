package io.ferry.migration.transport;

/** What a data-plane connection's TLS handshake settled on, e.g. TLSv1.3 and TLS_AES_128_GCM_SHA256. */
public record TlsSession(String protocol, String cipher, String provider) {
}
