// Which load balancers use each ACM certificate: the certificates of their HTTPS and TLS listeners.
// ACM answers it as a certificate's InUseBy and refuses to delete a certificate in use.
import type { Store } from "../../store/index.js";

export async function certificateUsers(store: Pick<Store, "elbv2">): Promise<ReadonlyMap<string, readonly string[]>> {
  const users = new Map<string, string[]>();
  for (const stored of await store.elbv2.listListeners()) {
    for (const certificate of stored.listener.Certificates ?? []) {
      const arn = certificate.CertificateArn;
      if (arn === undefined) continue;
      const loadBalancers = users.get(arn) ?? [];
      if (!loadBalancers.includes(stored.loadBalancerArn)) loadBalancers.push(stored.loadBalancerArn);
      users.set(arn, loadBalancers);
    }
  }
  return users;
}
