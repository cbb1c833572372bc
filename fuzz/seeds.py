#!/usr/bin/env python3
"""Seed inputs for the fuzz targets, made from the sample answers in services/samples/.

Writes seeds/answers/* and seeds/form_post/*: the 4 bytes choosing service, stage, page and
audience (see fuzz_targets/common.rs), then the sample's answers (and, for form_post, a NUL
and a small form body). Run from fuzz/: `python3 seeds.py`, then pass the folder after the
corpus folder: `cargo fuzz run answers corpus/answers seeds/answers -- ...`.

Also seeds/email_message/* (the test corpus of crates/haven-email, with its public corpus)
and seeds/docx_form/* (the Word form fixtures, the outside layouts' too, as a whole .docx after a 0 byte and as their document.xml after a 1 byte;
see fuzz_targets/docx_form.rs).
"""
import json
import os
import shutil
import zipfile

SAMPLES = {  # index of the service in common::DEFINITIONS -> its samples
    0: ["cyber-choices-enquiry.json", "cyber-choices-referral.json"],
    1: ["secos-referral.json"],
    2: ["ceop-report-bullying.json", "ceop-report-parent.json"],
}
FORM = b"\0action=continue&0=yes&1-day=1&1-month=2&1-year=2010&2=x%40example.org"

for target in ("answers", "form_post"):
    os.makedirs(os.path.join("seeds", target), exist_ok=True)
for service, names in SAMPLES.items():
    for name in names:
        with open(os.path.join("..", "services", "samples", name), encoding="utf-8") as f:
            doc = json.load(f)
        body = json.dumps(doc.get("answers", doc), separators=(",", ":")).encode()
        base = name.removesuffix(".json")
        for stage in range(2):
            for audience in range(4):
                head = bytes([service, stage, 0, audience])
                with open(f"seeds/answers/{base}-s{stage}-a{audience}", "wb") as f:
                    f.write(head + body)
                for page in range(0, 12, 3):
                    head = bytes([service, stage, page, audience])
                    with open(f"seeds/form_post/{base}-s{stage}-p{page}-a{audience}", "wb") as f:
                        f.write(head + body + FORM)

os.makedirs(os.path.join("seeds", "email_message"), exist_ok=True)
corpus = os.path.join("..", "crates", "haven-email", "tests", "corpus")
# The hand-written messages and, under public/, mail-parser's test messages (flattened:
# public/mail-parser-0.11.9/rfc/001.eml -> public-mail-parser-0.11.9-rfc-001.eml).
for root, _dirs, names in os.walk(corpus):
    for name in sorted(names):
        if not name.endswith(".eml"):
            continue
        rel = os.path.relpath(os.path.join(root, name), corpus)
        shutil.copyfile(
            os.path.join(root, name),
            os.path.join("seeds", "email_message", rel.replace(os.sep, "-")),
        )
os.makedirs(os.path.join("seeds", "docx_form"), exist_ok=True)
fixtures = os.path.join("..", "crates", "haven-email", "tests", "fixtures")
for name in sorted(os.listdir(fixtures)):
    with open(os.path.join(fixtures, name), "rb") as f:
        data = f.read()
    with open(os.path.join("seeds", "docx_form", name + ".zip"), "wb") as f:
        f.write(b"\0" + data)
    with zipfile.ZipFile(os.path.join(fixtures, name)) as z:
        xml = z.read("word/document.xml")
    with open(os.path.join("seeds", "docx_form", name + ".xml"), "wb") as f:
        f.write(b"\1" + xml)
