package io.ferry.control.api;

import java.math.BigInteger;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;
import org.springframework.http.converter.HttpMessageNotReadableException;
import tools.jackson.core.JacksonException;
import tools.jackson.core.TokenStreamLocation;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.exc.InvalidFormatException;
import tools.jackson.databind.exc.MismatchedInputException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

/**
 * Why a request body could not be read, in the API's words: the property path as the API
 * spells it ({@code parameters.maxBandwidth}, {@code ramBlocks[0].sizeBytes}) and what the
 * value must be, or where the JSON breaks. Never a Java type name.
 */
final class JsonProblems {

    /** {@code field} null: the body as a whole (not JSON, empty, trailing data). */
    record Described(String field, String message) {
    }

    private JsonProblems() {
    }

    static Described describe(HttpMessageNotReadableException e) {
        Throwable cause = e.getCause();
        while (cause != null && !(cause instanceof JacksonException) && cause.getCause() != cause
                && cause.getCause() != null) {
            cause = cause.getCause();
        }
        if (!(cause instanceof JacksonException jackson)) {
            return new Described(null, "the request body is missing or not readable");
        }
        String path = path(jackson);
        if (jackson instanceof UnrecognizedPropertyException unknown) {
            return new Described(path, "is not a property of this request (unknown properties are refused)");
        }
        if (jackson instanceof InputCoercionException coercion) {
            return new Described(path.isEmpty() ? "body" : path, "is out of range for " + kind(coercion.getTargetType()));
        }
        if (jackson instanceof InvalidFormatException format && format.getTargetType() == UUID.class) {
            return new Described(path, io.ferry.control.system.StrictJson.UUID_RULE);
        }
        if (jackson instanceof MismatchedInputException mismatch && !path.isEmpty()) {
            String original = String.valueOf(mismatch.getOriginalMessage());
            if (original.contains("Duplicate") || original.contains("duplicate")) {
                return new Described(path, "is given more than once");
            }
            return new Described(path, "must be " + kind(mismatch.getTargetType()));
        }
        if (jackson instanceof StreamReadException read) {
            String original = String.valueOf(read.getOriginalMessage());
            if (original.contains("Duplicate") || original.contains("duplicate")) {
                return new Described(path.isEmpty() ? "body" : path, "a property is given more than once");
            }
            return new Described(null, "the request body is not valid JSON" + at(read.getLocation()) + ": "
                    + firstLine(original));
        }
        if (jackson instanceof MismatchedInputException) {
            String original = String.valueOf(jackson.getOriginalMessage());
            if (original.contains("No content") || original.contains("end-of-input")) {
                return new Described(null, "the request body is missing (this operation takes a JSON object)");
            }
            if (original.contains("Trailing token")) {
                return new Described(null, "the request body has data after its JSON value");
            }
            return new Described(null, "the request body must be a JSON object of this operation's shape");
        }
        return new Described(path.isEmpty() ? null : path, "is not valid for this operation");
    }

    /** What a JSON value for this Java type must be, in JSON's terms. */
    static String kind(Class<?> type) {
        if (type == null) {
            return "a value of another type";
        }
        if (type == Long.class || type == long.class || type == Integer.class || type == int.class
                || type == Short.class || type == short.class || type == BigInteger.class || type == Byte.class) {
            return "an integer (a JSON number without fraction or exponent, within range)";
        }
        if (type == Double.class || type == double.class || type == Float.class || type == float.class
                || Number.class.isAssignableFrom(type)) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "true or false";
        }
        if (type == String.class || CharSequence.class.isAssignableFrom(type)) {
            return "a string";
        }
        if (type == UUID.class) {
            return "a UUID string (8-4-4-4-12 hexadecimal digits)";
        }
        if (type.isEnum()) {
            return "one of the values the contract lists";
        }
        if (type.isArray() || Collection.class.isAssignableFrom(type)) {
            return "an array";
        }
        if (Map.class.isAssignableFrom(type) || type.isRecord() || !type.isPrimitive()) {
            return "an object";
        }
        return "a value of another type";
    }

    private static String path(JacksonException e) {
        StringBuilder path = new StringBuilder();
        for (JacksonException.Reference ref : e.getPath()) {
            if (ref.getPropertyName() != null) {
                if (!path.isEmpty()) {
                    path.append('.');
                }
                path.append(ref.getPropertyName());
            } else if (ref.getIndex() >= 0) {
                path.append('[').append(ref.getIndex()).append(']');
            }
        }
        return path.toString();
    }

    private static String at(TokenStreamLocation location) {
        if (location == null || location.getLineNr() < 0) {
            return "";
        }
        return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }

    private static String firstLine(String text) {
        String line = text.lines().findFirst().orElse(text);
        return ProblemAdvice.scrub(line.length() > 200 ? line.substring(0, 200) + "…" : line);
    }
}
