package io.ferry.control.webhooks;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Locale;

/** Where a subscription's deliveries go: an absolute http(s) URL without credentials. */
public final class WebhookTarget {

    public static final int MAX_LENGTH = 2048;

    private WebhookTarget() {
    }

    /** The URL, or an {@link IllegalArgumentException} saying what is wrong with it. */
    public static URI parse(String url) {
        if (url == null || url.isBlank()) {
            throw new IllegalArgumentException("must not be blank");
        }
        if (url.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("must be at most " + MAX_LENGTH + " characters");
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("is not a valid URL: " + e.getMessage());
        }
        if (!uri.isAbsolute()) {
            throw new IllegalArgumentException("must be an absolute URL (http://… or https://…)");
        }
        String scheme = uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https")) {
            throw new IllegalArgumentException("must use http or https, not '" + uri.getScheme() + "'");
        }
        if (uri.getRawUserInfo() != null) {
            // deliveries are authenticated by their signature; a password in a URL ends up in logs and listings
            throw new IllegalArgumentException("must not contain credentials (user:password@)");
        }
        if (uri.getHost() == null) {
            throw new IllegalArgumentException("must name a host");
        }
        if (uri.getRawFragment() != null) {
            throw new IllegalArgumentException("must not have a fragment (#…): it is never sent");
        }
        return uri;
    }
}
