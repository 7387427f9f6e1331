# Drives the lab with Debian's python3-os-xenapi (a real XenAPI.py: xmlrpc.client underneath) and
# prints one JSON object of observations. Run: /usr/bin/python3 xenapi_client.py URL
import json
import sys
import time

from os_xenapi.client import XenAPI

url = sys.argv[1]
out = {}
s = XenAPI.Session(url)
s.xenapi.login_with_password("root", "xenkit", "2.21", "xenkit-conformance")
x = s.xenapi
out["pool"] = x.pool.get_name_label(x.pool.get_all()[0])
records = x.VM.get_all_records()
out["vm_count"] = len(records)
vm = [r for r, v in records.items() if v["name_label"] == "lab-vm-2"][0]
rec = records[vm]
out["memory_static_max"] = rec["memory_static_max"]
out["memory_type"] = type(rec["memory_static_max"]).__name__
out["is_a_template_type"] = type(rec["is_a_template"]).__name__
out["shadow_type"] = type(rec["HVM_shadow_multiplier"]).__name__
out["domain_type"] = rec["domain_type"]

task = x.Async.VM.start(vm, False, False)
deadline = time.time() + 10
while x.task.get_status(task) == "pending" and time.time() < deadline:
    time.sleep(0.02)
trec = x.task.get_record(task)
out["task_status"] = trec["status"]
out["task_progress"] = trec["progress"]
out["task_result"] = trec["result"]
out["power_state"] = x.VM.get_power_state(vm)
x.task.destroy(task)

task = x.Async.VM.start(vm, False, False)
while x.task.get_status(task) == "pending" and time.time() < deadline:
    time.sleep(0.02)
out["failed_task_status"] = x.task.get_status(task)
out["failed_task_error_info"] = x.task.get_error_info(task)

try:
    x.VM.get_record("OpaqueRef:nonexistent")
except XenAPI.Failure as f:
    out["failure_details"] = f.details
try:
    x.VM.start(vm)
except XenAPI.Failure as f:
    out["count_mismatch"] = f.details
try:
    x.VM.clean_reboot(x.VM.get_by_name_label("lab-vm-3")[0])
except XenAPI.Failure as f:
    out["bad_power_state"] = f.details
x.VM.hard_shutdown(vm)
ev = x.event.inject("VM", vm)
batch = getattr(x.event, "from")(["vm/" + vm], ev, 0.2)
out["empty_batch_events"] = len(batch["events"])
x.VM.add_to_other_config(vm, "xenkit", "1")
batch = getattr(x.event, "from")(["vm/" + vm], ev, 5.0)
out["event_ops"] = [e["operation"] for e in batch["events"]]
out["event_class"] = batch["events"][0]["class"]
out["event_snapshot_other_config"] = batch["events"][0]["snapshot"]["other_config"]
out["valid_ref_counts"] = batch["valid_ref_counts"]
s.xenapi.session.logout()
print(json.dumps(out))
