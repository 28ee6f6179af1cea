package io.ferry.control.guest;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;

/** The configured workload of a synthetic guest. */
@Embeddable
public class Workload {

    @Column(name = "dirty_pages_per_second", nullable = false)
    private long dirtyPagesPerSecond;

    @Column(name = "hot_set_fraction", nullable = false)
    private double hotSetFraction;

    @Column(name = "disk_writes_per_second", nullable = false)
    private long diskWritesPerSecond;

    @Column(name = "workload_seed", nullable = false)
    private long seed;

    protected Workload() {
    }

    public Workload(long dirtyPagesPerSecond, double hotSetFraction, long diskWritesPerSecond, long seed) {
        this.dirtyPagesPerSecond = dirtyPagesPerSecond;
        this.hotSetFraction = hotSetFraction;
        this.diskWritesPerSecond = diskWritesPerSecond;
        this.seed = seed;
    }

    public long dirtyPagesPerSecond() {
        return dirtyPagesPerSecond;
    }

    public double hotSetFraction() {
        return hotSetFraction;
    }

    public long diskWritesPerSecond() {
        return diskWritesPerSecond;
    }

    public long seed() {
        return seed;
    }
}
