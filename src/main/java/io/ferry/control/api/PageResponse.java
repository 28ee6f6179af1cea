package io.ferry.control.api;

import java.util.List;
import java.util.function.Function;
import org.springframework.data.domain.Page;

record PageResponse<T>(List<T> items, int page, int size, long totalItems, int totalPages) {

    static <E, T> PageResponse<T> of(Page<E> page, Function<E, T> map) {
        return new PageResponse<>(page.getContent().stream().map(map).toList(), page.getNumber(), page.getSize(),
                page.getTotalElements(), page.getTotalPages());
    }
}
