"""`idpkit chaos`: bounded mixed load through a stack's outputs while one fault at a time is injected into a
kept rehearsal (idpkit/rehearsal/), each scenario measured against a goal stated before it runs.

`load` drives the clients, `probes` reads what the kit itself can observe (readiness, metrics, the load
balancer's log), `faults` breaks and mends the rehearsal, `scenarios` pairs them with their goals, and
`report` renders docs/reliability.md from the recorded results.
"""
