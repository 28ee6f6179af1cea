package io.ferry.control.job;

import java.util.List;

/** The request asks for parameters or capabilities the engine of this version cannot honour. */
public class UnsupportedFeatureException extends RuntimeException {

    private final List<String> unsupported;

    public UnsupportedFeatureException(List<String> unsupported) {
        super("not supported by this version's migration engine: " + String.join(", ", unsupported)
                + EngineFeatures.explain(unsupported));
        this.unsupported = List.copyOf(unsupported);
    }

    public List<String> unsupported() {
        return unsupported;
    }
}
