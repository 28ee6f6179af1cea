package io.ferry.control.console;

import io.ferry.control.system.ConsoleCallers;
import io.ferry.control.system.ConsoleCallers.ConsoleCaller;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.security.core.context.SecurityContext;
import org.springframework.security.core.context.SecurityContextHolder;
import org.springframework.security.web.context.HttpSessionSecurityContextRepository;
import org.springframework.security.web.context.SecurityContextRepository;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestParam;

/**
 * Signing in to the console with an API token: the bootstrap token ({@code <data-dir>/api-token})
 * or a named token an admin handed out; the session then carries the token's name and role (not
 * the token). {@code /} leads here, or to the overview once signed in.
 */
@Controller
class SignIn {

    private static final Logger log = LoggerFactory.getLogger(SignIn.class);

    private final ConsoleCallers callers;
    private final SecurityContextRepository contexts = new HttpSessionSecurityContextRepository();

    SignIn(ConsoleCallers callers) {
        this.callers = callers;
    }

    @GetMapping("/")
    String root() {
        return "redirect:/console";
    }

    @GetMapping("/console/login")
    String form() {
        return "console/login";
    }

    @PostMapping("/console/login")
    String signIn(@RequestParam(defaultValue = "") String token, HttpServletRequest request,
                  HttpServletResponse response, Model model) {
        Optional<ConsoleCaller> caller = callers.signIn(token);
        if (caller.isEmpty()) {
            log.info("console: sign-in refused from {}", request.getRemoteAddr());
            response.setStatus(HttpServletResponse.SC_UNAUTHORIZED);
            model.addAttribute("error", token.isBlank() ? "Enter an API token."
                    : "That token is unknown or revoked. Use the bootstrap token in <data-dir>/api-token "
                    + "or a token an admin created (POST /api/v1/tokens).");
            return "console/login";
        }
        if (request.getSession(false) != null) {
            request.changeSessionId();   // a fresh session id for the signed-in session (no fixation)
        }
        SecurityContext context = SecurityContextHolder.createEmptyContext();
        context.setAuthentication(callers.authentication(caller.get()));
        SecurityContextHolder.setContext(context);
        contexts.saveContext(context, request, response);
        log.info("console: {} signed in as {}", caller.get().name(), caller.get().role().apiName());
        return "redirect:/console";
    }
}
