package io.ferry.control.job;

import jakarta.persistence.AttributeConverter;
import jakarta.persistence.Converter;

/** Stores the status under its API spelling, so the database reads like the API. */
@Converter(autoApply = true)
class JobStatusConverter implements AttributeConverter<JobStatus, String> {

    @Override
    public String convertToDatabaseColumn(JobStatus status) {
        return status == null ? null : status.apiName();
    }

    @Override
    public JobStatus convertToEntityAttribute(String value) {
        return value == null ? null : JobStatus.fromApiName(value);
    }
}
