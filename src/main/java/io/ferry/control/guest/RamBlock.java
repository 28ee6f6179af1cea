package io.ferry.control.guest;

import jakarta.persistence.Column;
import jakarta.persistence.Embeddable;

/** One RAM block of a guest (QEMU idstr and size). */
@Embeddable
public class RamBlock {

    @Column(nullable = false)
    private String name;

    @Column(name = "size_bytes", nullable = false)
    private long sizeBytes;

    protected RamBlock() {
    }

    public RamBlock(String name, long sizeBytes) {
        this.name = name;
        this.sizeBytes = sizeBytes;
    }

    public String name() {
        return name;
    }

    public long sizeBytes() {
        return sizeBytes;
    }
}
