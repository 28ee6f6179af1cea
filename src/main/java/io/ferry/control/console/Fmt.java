package io.ferry.control.console;

import io.ferry.channel.MigrationProgress;
import java.util.Locale;
import org.springframework.stereotype.Component;

/**
 * How the console writes figures (as {@code ${@fmt...}} in its templates): sizes and rates in
 * binary units, durations in words an operator reads at a glance. Times are written as ISO
 * instants in {@code <time>} elements; the browser shows them in its own zone with their age.
 */
@Component("fmt")
public class Fmt {

    private static final String[] UNITS = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    /** Bytes of one guest page: dirty rates are counted in pages. */
    static final long PAGE = 4096;

    public String bytes(Long n) {
        if (n == null) {
            return "–";
        }
        double v = Math.abs((double) n);
        int unit = 0;
        while (v >= 1024 && unit < UNITS.length - 1) {
            v /= 1024;
            unit++;
        }
        String sign = n < 0 ? "-" : "";
        return unit == 0 ? sign + (long) v + " B"
                : sign + String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : v >= 10 ? "%.1f %s" : "%.2f %s", v, UNITS[unit]);
    }

    public String rate(Double bytesPerSecond) {
        return bytesPerSecond == null ? "–" : bytes(Math.round(bytesPerSecond)) + "/s";
    }

    /** QEMU's mbps (decimal megabits per second) as bytes per second. */
    public double mbpsToBytes(double mbps) {
        return mbps * 1_000_000 / 8;
    }

    public String ms(Long millis) {
        if (millis == null) {
            return "–";
        }
        if (millis < 1000) {
            return millis + " ms";
        }
        long s = millis / 1000;
        if (s < 60) {
            return String.format(Locale.ROOT, "%.1f s", millis / 1000.0);
        }
        if (s < 3600) {
            return (s / 60) + " min " + (s % 60) + " s";
        }
        return (s / 3600) + " h " + (s % 3600 / 60) + " min";
    }

    public String seconds(Long seconds) {
        return seconds == null ? "–" : ms(seconds * 1000);
    }

    /**
     * Percent of the bytes to move that have been sent (the part still to send counts as to do).
     * Before the source has counted what is left (nothing left, nothing sent of note), the share
     * of the guest's size sent so far, below 100: a job that has not ended is never shown done.
     */
    public long percent(MigrationProgress p) {
        if (p == null || p.ram() == null) {
            return 0;
        }
        long sent = transferred(p);
        long left = remaining(p);
        if (left == 0) {
            long total = p.ram().total() + (p.disk() == null ? 0 : p.disk().total());
            return total == 0 ? 0 : Math.min(99, Math.round(100.0 * sent / total));
        }
        return Math.min(99, Math.round(100.0 * sent / (sent + left)));
    }

    public long remaining(MigrationProgress p) {
        if (p == null || p.ram() == null) {
            return 0;
        }
        return p.ram().remaining() + (p.disk() == null ? 0 : p.disk().remaining());
    }

    public long transferred(MigrationProgress p) {
        if (p == null || p.ram() == null) {
            return 0;
        }
        return p.ram().transferred() + (p.disk() == null ? 0 : p.disk().transferred());
    }

    public double dirtyBytesPerSecond(MigrationProgress p) {
        return p == null || p.ram() == null ? 0 : p.ram().dirtyPagesRate() * (double) PAGE;
    }

    /**
     * Time left at the present rate, net of what the guest dirties again meanwhile; null when the
     * guest dirties as fast as the link sends (pre-copy alone would not converge).
     */
    public String eta(MigrationProgress p) {
        if (p == null || p.ram() == null) {
            return "–";
        }
        if (p.ram().iterations() == 0 && remaining(p) == 0) {
            return "–";   // the first round has not counted what there is to send yet
        }
        double net = mbpsToBytes(p.ram().mbps()) - dirtyBytesPerSecond(p);
        if (net <= 0) {
            return "not converging (dirty rate ≥ rate)";
        }
        return ms(Math.round(remaining(p) / net * 1000));
    }

    /**
     * A job's progress bar, its figures written once in Java: the migrations page draws a
     * thousand of them, and a dozen template expressions each would cost most of its render.
     */
    public record Bar(String jobId, String shortId, long percent, Long remaining, String figures) {
    }

    public Bar bar(io.ferry.control.job.MigrationJob job, MigrationProgress p) {
        boolean completed = job.status() == io.ferry.control.job.JobStatus.COMPLETED;
        String id = job.id().toString();
        if (p == null || p.ram() == null) {
            return new Bar(id, id.substring(0, 8), completed ? 100 : 0, null, null);
        }
        String figures = bytes(transferred(p)) + " sent, " + bytes(remaining(p)) + " left · "
                + rate(mbpsToBytes(p.ram().mbps())) + " · dirty " + rate(dirtyBytesPerSecond(p)) + " · iteration "
                + p.ram().iterations() + (job.status().isTerminal() ? "" : " · ETA " + eta(p));
        return new Bar(id, id.substring(0, 8), completed ? 100 : percent(p), remaining(p), figures);
    }

    public String chip(String status) {
        return "chip chip-" + status;
    }
}
