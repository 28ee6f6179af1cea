package io.ferry.control.host;

import jakarta.persistence.AttributeConverter;
import jakarta.persistence.Converter;
import java.util.List;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** Stores a host's runtimes as a JSON array in one text column, in the order the worker reported them. */
@Converter
class HostRuntimesConverter implements AttributeConverter<List<HostRuntime>, String> {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final TypeReference<List<HostRuntime>> LIST = new TypeReference<>() {
    };

    @Override
    public String convertToDatabaseColumn(List<HostRuntime> runtimes) {
        return JSON.writeValueAsString(runtimes == null ? List.of() : runtimes);
    }

    @Override
    public List<HostRuntime> convertToEntityAttribute(String column) {
        return column == null || column.isBlank() ? List.of() : List.copyOf(JSON.readValue(column, LIST));
    }
}
