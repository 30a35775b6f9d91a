"""``python -m maskdetect``: the commands behind one entry point."""


def test_python_m_maskdetect_lists_the_commands_and_refuses_an_unknown_one(capsys):
    from maskdetect.__main__ import main

    assert main(["--help"]) == 0
    usage = capsys.readouterr().out
    assert all(name in usage for name in ("train", "image", "video", "evaluate", "export"))
    assert main(["paint"]) == 2
    assert "unknown command 'paint'" in capsys.readouterr().err
