from service.cli import COMMANDS, build_parser


def test_every_command_has_help():
    parser = build_parser()
    text = parser.format_help()
    for name in COMMANDS:
        assert name in text
