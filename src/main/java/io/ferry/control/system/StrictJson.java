package io.ferry.control.system;

import java.util.UUID;
import java.util.regex.Pattern;
import org.springframework.boot.jackson.autoconfigure.JsonMapperBuilderCustomizer;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.StreamReadFeature;
import tools.jackson.databind.DeserializationContext;
import tools.jackson.databind.DeserializationFeature;
import tools.jackson.databind.MapperFeature;
import tools.jackson.databind.cfg.CoercionAction;
import tools.jackson.databind.cfg.CoercionInputShape;
import tools.jackson.databind.deser.std.StdScalarDeserializer;
import tools.jackson.databind.module.SimpleModule;
import tools.jackson.databind.type.LogicalType;

/**
 * JSON is read as written: a number field takes a JSON integer (never {@code 0.5}, {@code "5"}
 * or {@code true}), a boolean takes {@code true}/{@code false} (never {@code 1} or
 * {@code "true"}), a string takes a JSON string (never {@code 5} or {@code true}), a UUID its
 * canonical 8-4-4-4-12 form, and a property given twice is refused. A fraction silently
 * truncated to an integer once made a running job unlimited ({@code maxBandwidth: 0.5} → 0).
 * Integers stay allowed where a fraction is expected ({@code hotSetFraction: 1}).
 */
@Configuration(proxyBeanMethods = false)
public class StrictJson {

    /** 8-4-4-4-12 hexadecimal digits, the only UUID spelling the API takes. */
    public static final Pattern CANONICAL_UUID =
            Pattern.compile("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}");

    public static final String UUID_RULE = "must be a UUID (8-4-4-4-12 hexadecimal digits)";

    /** The UUID a canonical string spells; IllegalArgumentException naming the rule otherwise. */
    public static UUID uuid(String text) {
        if (text == null || !CANONICAL_UUID.matcher(text).matches()) {
            throw new IllegalArgumentException(UUID_RULE);
        }
        return UUID.fromString(text);
    }

    @Bean
    JsonMapperBuilderCustomizer strictJsonReading() {
        return builder -> builder
                .disable(MapperFeature.ALLOW_COERCION_OF_SCALARS)
                .disable(DeserializationFeature.ACCEPT_FLOAT_AS_INT)
                .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
                .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION)
                .withCoercionConfig(LogicalType.Integer, c -> c
                        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail))
                .withCoercionConfig(LogicalType.Float, c -> c
                        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail))
                .withCoercionConfig(LogicalType.Boolean, c -> c
                        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.String, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.EmptyString, CoercionAction.Fail))
                .withCoercionConfig(LogicalType.Textual, c -> c
                        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Boolean, CoercionAction.Fail))
                .withCoercionConfig(LogicalType.Enum, c -> c
                        .setCoercion(CoercionInputShape.Integer, CoercionAction.Fail)
                        .setCoercion(CoercionInputShape.Float, CoercionAction.Fail))
                .addModule(new SimpleModule("ferry-strict").addDeserializer(UUID.class, new CanonicalUuid()));
    }

    /** Jackson's own UUID reader also takes 24 characters of Base64; the API takes the canonical form only. */
    static final class CanonicalUuid extends StdScalarDeserializer<UUID> {

        CanonicalUuid() {
            super(UUID.class);
        }

        @Override
        public UUID deserialize(JsonParser p, DeserializationContext ctxt) {
            if (!p.hasToken(JsonToken.VALUE_STRING)) {
                return (UUID) ctxt.handleUnexpectedToken(UUID.class, p);
            }
            String text = p.getString();
            if (!CANONICAL_UUID.matcher(text).matches()) {
                throw ctxt.weirdStringException(text, UUID.class, UUID_RULE);
            }
            return UUID.fromString(text);
        }

        @Override
        public LogicalType logicalType() {
            return LogicalType.OtherScalar;
        }
    }
}
