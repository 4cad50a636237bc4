//! The network flags of `run`/`create` besides `--network`, flattened
//! into `RunArgs` (kept apart so the networking flags live in one place).

use clap::Args;

#[derive(Args, Debug, Clone, Default)]
pub struct NetworkArgs {
    /// IPv4 address on a user-defined network (e.g. 172.30.100.104).
    #[arg(long)]
    pub ip: Option<String>,
    /// Container MAC address (e.g. 92:d0:c6:0a:29:33).
    #[arg(long = "mac-address")]
    pub mac_address: Option<String>,
    /// Network-scoped alias for the container.
    #[arg(long = "network-alias", alias = "net-alias")]
    pub network_alias: Vec<String>,
    /// Publish a container's port(s) to the host:
    /// [ip:][hostPort:]containerPort[/tcp|udp], ranges too.
    #[arg(short = 'p', long = "publish")]
    pub publish: Vec<String>,
    /// Publish every exposed port (the image's EXPOSE) to a free host port.
    #[arg(short = 'P', long = "publish-all")]
    pub publish_all: bool,
    /// Add a custom host-to-IP mapping (HOST:IP, IP may be host-gateway).
    #[arg(long = "add-host")]
    pub add_host: Vec<String>,
    /// Set custom DNS servers.
    #[arg(long)]
    pub dns: Vec<String>,
    /// Set custom DNS search domains.
    #[arg(long = "dns-search")]
    pub dns_search: Vec<String>,
    /// Set DNS options.
    #[arg(long = "dns-option", alias = "dns-opt")]
    pub dns_option: Vec<String>,
}

impl NetworkArgs {
    pub fn flags(&self) -> containerv_engine::network::NetFlags {
        containerv_engine::network::NetFlags {
            ip: self.ip.clone(),
            mac_address: self.mac_address.clone(),
            aliases: self.network_alias.clone(),
            publish: self.publish.clone(),
            publish_all: self.publish_all,
            add_hosts: self.add_host.clone(),
            dns: self.dns.clone(),
            dns_search: self.dns_search.clone(),
            dns_options: self.dns_option.clone(),
        }
    }
}
