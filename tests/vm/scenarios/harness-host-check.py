from vmharness.kstate import expect_eq


def check(run):
    st = run.checkpoint("start")
    expect_eq(st.link("eth1")["operstate"], "DOWN", "eth1 operstate (NICs start down)")
    expect_eq(st.link("eth1")["address"], "52:54:00:01:01:01", "eth1 MAC (@mac)")
    expect_eq(st.link("eth2")["address"], "52:54:00:4e:01:02", "eth2 MAC (default)")
    expect_eq(st.addrs("eth1"), ["10.9.9.9/24"], f"{st.label}: eth1 IPv4")
