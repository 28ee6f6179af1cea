package io.ferry.channel;

/**
 * Control plane → worker: measure a guest's dirty-page rate over {@code windowMs} (100..60000,
 * default {@link #DEFAULT_WINDOW_MS}) in {@code mode} (default page-sampling), hashing
 * {@code samplePagesPerGiB} random pages per GiB of each RAM block (1..262144, default QEMU's
 * {@link #DEFAULT_SAMPLE_PAGES_PER_GIB}; in dirty-bitmap mode the sample gives only the zero-page
 * share). Any may be null for its default. Nothing is migrated and the migration's dirty log is
 * not touched.
 */
public record DirtyRateCommand(Long windowMs, DirtyRateMode mode, Integer samplePagesPerGiB) {

    public static final long DEFAULT_WINDOW_MS = 1000;
    public static final long MIN_WINDOW_MS = 100;
    public static final long MAX_WINDOW_MS = 60_000;
    public static final int DEFAULT_SAMPLE_PAGES_PER_GIB = 512;
    public static final int MAX_SAMPLE_PAGES_PER_GIB = 262_144;

    /** Page sampling over {@code windowMs} with {@code samplePagesPerGiB}. */
    public static DirtyRateCommand sampling(long windowMs, int samplePagesPerGiB) {
        return new DirtyRateCommand(windowMs, DirtyRateMode.PAGE_SAMPLING, samplePagesPerGiB);
    }
}
