"""One module per `l1ad` verb: each defines add_arguments(parser) and run(args) -> int."""

__all__: list[str] = []
