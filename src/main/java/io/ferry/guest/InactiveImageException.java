package io.ferry.guest;

import java.io.IOException;
import java.nio.file.Path;

/** A write refused by a disk image's fence: this host does not hold the image active. */
public final class InactiveImageException extends IOException {

    InactiveImageException(Path image) {
        this(image, "this host does not hold it active (no current ownership generation); the write was refused");
    }

    InactiveImageException(Path image, String why) {
        super("image " + image.getFileName() + " is inactive here: " + why);
    }
}
