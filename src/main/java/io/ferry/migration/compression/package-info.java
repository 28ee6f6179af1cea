/**
 * Multifd compression's libraries behind the codec's {@link io.ferry.wire.PageDecompressor} and
 * the sender's {@link io.ferry.migration.compression.PageCompressor}: zstd-jni and lz4-java.
 */
package io.ferry.migration.compression;
