package io.ferry.control.api;

import io.ferry.control.job.JobPage;
import io.ferry.control.job.MigrationJob;
import java.util.List;
import java.util.function.Function;

/**
 * One page of a list. {@code next} is the cursor of the following page (null on the last);
 * {@code page}, {@code totalItems} and {@code totalPages} are given for a page asked for by
 * number and null otherwise (counting every match costs more than the page).
 */
record PageResponse<T>(List<T> items, Integer page, int size, Long totalItems, Integer totalPages, String next) {

    static <T> PageResponse<T> of(JobPage page, Integer number, int size, Function<MigrationJob, T> map) {
        String next = page.next() == null ? null : page.next().encode();
        Long total = page.totalItems();
        Integer pages = total == null ? null : (int) ((total + size - 1) / size);
        return new PageResponse<>(page.items().stream().map(map).toList(), total == null ? null : number, size,
                total, pages, next);
    }
}
