"""Facts that several parts of the kit need, each defined once: AWS settings (`aws`) and Keycloak
deployment settings (`keycloak`). Components, stack configuration, policy rules, the local stack, host
code and the smoke suite import them from here; nothing restates them."""
