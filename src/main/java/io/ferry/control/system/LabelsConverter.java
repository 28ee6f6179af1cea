package io.ferry.control.system;

import jakarta.persistence.AttributeConverter;
import jakarta.persistence.Converter;
import java.util.Map;
import java.util.TreeMap;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

/** Stores a label map (or a label selector) as a JSON object in one text column, keys sorted. */
@Converter
public class LabelsConverter implements AttributeConverter<Map<String, String>, String> {

    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final TypeReference<TreeMap<String, String>> MAP = new TypeReference<>() {
    };

    @Override
    public String convertToDatabaseColumn(Map<String, String> labels) {
        return JSON.writeValueAsString(labels == null ? Map.of() : new TreeMap<>(labels));
    }

    @Override
    public Map<String, String> convertToEntityAttribute(String column) {
        return column == null || column.isBlank() ? new TreeMap<>() : JSON.readValue(column, MAP);
    }
}
