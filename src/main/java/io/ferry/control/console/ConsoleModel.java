package io.ferry.control.console;

import io.ferry.control.system.ConsoleCallers;
import io.ferry.control.system.ConsoleCallers.ConsoleCaller;
import io.ferry.control.system.Role;
import java.security.Principal;
import org.springframework.security.core.Authentication;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ModelAttribute;

/**
 * What every console page knows about its user: who they are and which buttons their role may
 * press. Hiding a button is a courtesy; the security chain refuses the action anyway.
 */
@ControllerAdvice(basePackageClasses = ConsoleModel.class)
class ConsoleModel {

    @ModelAttribute("me")
    ConsoleCaller me(Principal principal) {
        return caller(principal);
    }

    @ModelAttribute("canOperate")
    boolean canOperate(Principal principal) {
        ConsoleCaller c = caller(principal);
        return c != null && c.role().includes(Role.OPERATOR);
    }

    @ModelAttribute("canAdmin")
    boolean canAdmin(Principal principal) {
        ConsoleCaller c = caller(principal);
        return c != null && c.role().includes(Role.ADMIN);
    }

    static ConsoleCaller caller(Principal principal) {
        return principal instanceof Authentication a ? ConsoleCallers.of(a).orElse(null) : null;
    }

    /** The actor a console action is recorded under ({@code console:<token name>}). */
    static String actor(Principal principal) {
        ConsoleCaller c = caller(principal);
        if (c == null) {
            throw new IllegalStateException("a console action without a signed-in caller");
        }
        return c.actor();
    }
}
