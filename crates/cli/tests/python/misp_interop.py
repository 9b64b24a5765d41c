"""PyMISP against Shield's MISP JSON, driven by tests/misp_interop.rs.

  misp_interop.py load FILE   loads FILE (Shield's `intel export --format misp`) as a MISPEvent and
                              prints what PyMISP read, as JSON
  misp_interop.py write FILE  writes a MISPEvent made with PyMISP (attributes, a tlp:amber tag, a
                              file object) to FILE for Shield to import
"""

import json
import sys

from pymisp import MISPEvent, MISPObject


def load(path):
    event = MISPEvent()
    event.load_file(path)
    attributes = [
        {"type": a.type, "category": a.category, "value": a.value, "to_ids": a.to_ids,
         "tags": [t.name for t in a.tags]}
        for a in event.attributes
    ]
    objects = [
        {"name": o.name, "attributes": [
            {"relation": a.object_relation, "type": a.type, "value": a.value} for a in o.attributes]}
        for o in event.objects
    ]
    print(json.dumps({
        "uuid": event.uuid,
        "info": event.info,
        "tags": [t.name for t in event.tags],
        "attributes": attributes,
        "objects": objects,
    }))


def write(path):
    event = MISPEvent()
    event.info = "Credential phishing against ministries"
    event.distribution = 1
    event.threat_level_id = 2
    event.analysis = 1
    event.add_tag("tlp:amber")
    event.add_tag('misp-galaxy:threat-actor="Example Bear"')
    event.add_attribute("ip-dst", "198.51.100.77", to_ids=True, comment="C2")
    event.add_attribute("domain", "login-ministry.example", to_ids=True)
    event.add_attribute("url", "https://login-ministry.example/owa/", to_ids=False)
    attachment = MISPObject("file")
    attachment.add_attribute("filename", value="invoice.pdf.exe")
    attachment.add_attribute(
        "sha256", value="9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        to_ids=True)
    event.add_object(attachment)
    with open(path, "w", encoding="utf-8") as f:
        f.write(event.to_json(indent=2))
    print(json.dumps({"uuid": event.uuid, "object": attachment.uuid}))


if __name__ == "__main__":
    {"load": load, "write": write}[sys.argv[1]](sys.argv[2])
