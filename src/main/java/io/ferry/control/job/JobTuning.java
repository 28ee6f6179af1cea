package io.ferry.control.job;

/**
 * What a tune changes on a job that has not finished (null: unchanged): the bandwidth, the
 * downtime limit, and auto-converge turned on ({@code true} only; it is never turned off mid-job).
 */
public record JobTuning(Long maxBandwidth, Long downtimeLimitMs, Boolean autoConverge) {

    public JobTuning {
        if (Boolean.FALSE.equals(autoConverge)) {
            throw new InvalidParametersException("autoConverge can only be turned on mid-job, not off");
        }
    }

    public static JobTuning limits(Long maxBandwidth, Long downtimeLimitMs) {
        return new JobTuning(maxBandwidth, downtimeLimitMs, null);
    }

    public boolean isEmpty() {
        return maxBandwidth == null && downtimeLimitMs == null && autoConverge == null;
    }
}
