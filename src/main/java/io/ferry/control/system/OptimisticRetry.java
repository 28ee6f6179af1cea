package io.ferry.control.system;

import java.util.function.Supplier;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.stereotype.Component;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * Runs a read-change-save in one transaction whose save is a compare-and-set on the row's
 * version. Workers report several times a second, so a request may race a report: the change
 * is then run again on the fresh row. Changes must be functions of the row they read, so a
 * retry decides anew; after {@value #ATTEMPTS} lost races the conflict goes to the caller.
 */
@Component
public class OptimisticRetry {

    static final int ATTEMPTS = 3;

    private final TransactionTemplate tx;

    OptimisticRetry(PlatformTransactionManager txManager) {
        this.tx = new TransactionTemplate(txManager);
    }

    public <T> T inTransaction(Supplier<T> change) {
        for (int attempt = 1; ; attempt++) {
            try {
                return tx.execute(status -> change.get());
            } catch (OptimisticLockingFailureException raced) {
                if (attempt == ATTEMPTS) {
                    throw raced;
                }
            }
        }
    }
}
