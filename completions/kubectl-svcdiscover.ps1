
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'kubectl-svcdiscover' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'kubectl-svcdiscover'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'kubectl-svcdiscover' {
            [CompletionResult]::new('-l', '-l', [CompletionResultType]::ParameterName, 'Scan only the Services with these labels (kubectl syntax: k=v, k!=v, k, !k, comma-separated; with --all or -A)')
            [CompletionResult]::new('--selector', '--selector', [CompletionResultType]::ParameterName, 'Scan only the Services with these labels (kubectl syntax: k=v, k!=v, k, !k, comma-separated; with --all or -A)')
            [CompletionResult]::new('-n', '-n', [CompletionResultType]::ParameterName, 'Namespace of the Service [default: the context''s namespace, else `default`]')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'Namespace of the Service [default: the context''s namespace, else `default`]')
            [CompletionResult]::new('--from-namespace', '--from-namespace', [CompletionResultType]::ParameterName, 'Client namespace to explain name resolution from (repeatable)')
            [CompletionResult]::new('--cluster-domain', '--cluster-domain', [CompletionResultType]::ParameterName, 'Cluster domain [default: from the Corefile, else cluster.local]')
            [CompletionResult]::new('--snapshot', '--snapshot', [CompletionResultType]::ParameterName, 'Analyse `kubectl get -o json|yaml` or `kubectl cluster-info dump` output (file, directory or `-` for stdin) instead of a live cluster')
            [CompletionResult]::new('--max-snapshot-size', '--max-snapshot-size', [CompletionResultType]::ParameterName, 'Largest snapshot input read (each file, or stdin), e.g. 100MB, 1GiB or bytes')
            [CompletionResult]::new('--save-snapshot', '--save-snapshot', [CompletionResultType]::ParameterName, 'Also write every object read, and what was read in which scope, to FILE (a JSON List, mode 0600) for `--snapshot FILE` to diagnose later; probe results are not saved')
            [CompletionResult]::new('--probe', '--probe', [CompletionResultType]::ParameterName, 'How to observe the name forms: `pod` runs a short-lived probe Job in each client namespace, `local` resolves in-process through a port-forward to a CoreDNS pod, `none` only predicts [default: pod, skipped with a warning when it cannot run]')
            [CompletionResult]::new('--from', '--from', [CompletionResultType]::ParameterName, 'Observe from an existing client pod ([NS/]POD; NS defaults to -n''s): its own resolv.conf, dnsPolicy and network apply')
            [CompletionResult]::new('-c', '-c', [CompletionResultType]::ParameterName, 'The container of the --from pod to exec into [default: its kubectl.kubernetes.io/default-container annotation, else its first]')
            [CompletionResult]::new('--container', '--container', [CompletionResultType]::ParameterName, 'The container of the --from pod to exec into [default: its kubectl.kubernetes.io/default-container annotation, else its first]')
            [CompletionResult]::new('--probe-timeout', '--probe-timeout', [CompletionResultType]::ParameterName, 'Bound on the whole probe: scheduling, image pull, and every lookup')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'Probe image; it needs sh, and glibc''s getent (dig for per-candidate answers)')
            [CompletionResult]::new('--image-pull-secret', '--image-pull-secret', [CompletionResultType]::ParameterName, 'Image pull secret for the probe pod (in each client namespace)')
            [CompletionResult]::new('--kubeconfig', '--kubeconfig', [CompletionResultType]::ParameterName, 'Path to the kubeconfig file [default: $KUBECONFIG (several paths merge), else ~/.kube/config]')
            [CompletionResult]::new('--context', '--context', [CompletionResultType]::ParameterName, 'The kubeconfig context to use')
            [CompletionResult]::new('--cluster', '--cluster', [CompletionResultType]::ParameterName, 'The kubeconfig cluster to use')
            [CompletionResult]::new('--user', '--user', [CompletionResultType]::ParameterName, 'The kubeconfig user to use')
            [CompletionResult]::new('--as', '--as', [CompletionResultType]::ParameterName, 'User to impersonate')
            [CompletionResult]::new('--as-group', '--as-group', [CompletionResultType]::ParameterName, 'Group to impersonate (repeatable; needs --as)')
            [CompletionResult]::new('-s', '-s', [CompletionResultType]::ParameterName, 'The address of the Kubernetes API server (overrides the kubeconfig; with --token, no kubeconfig is needed)')
            [CompletionResult]::new('--server', '--server', [CompletionResultType]::ParameterName, 'The address of the Kubernetes API server (overrides the kubeconfig; with --token, no kubeconfig is needed)')
            [CompletionResult]::new('--token', '--token', [CompletionResultType]::ParameterName, 'Bearer token for authentication to the API server (overrides the kubeconfig''s credentials; never printed)')
            [CompletionResult]::new('--certificate-authority', '--certificate-authority', [CompletionResultType]::ParameterName, 'Path to a PEM file of certificate authorities to trust for the API server')
            [CompletionResult]::new('--request-timeout', '--request-timeout', [CompletionResultType]::ParameterName, 'Timeout for each API request, e.g. 5s, 1m; 0 means none')
            [CompletionResult]::new('-o', '-o', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--output', '--output', [CompletionResultType]::ParameterName, 'Output format')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to colour the table and the -v logs (NO_COLOR is honoured with auto)')
            [CompletionResult]::new('--fail-on', '--fail-on', [CompletionResultType]::ParameterName, 'Which findings make the exit code 1: error, warning (degraded fails too) or never (2 and 3 are never hidden)')
            [CompletionResult]::new('--wait', '--wait', [CompletionResultType]::ParameterName, 'Re-check until the Service (every scanned Service) passes the --fail-on gate, or DURATION (e.g. 30s, 2m; at most 1h) runs out; re-checks on changes the API server reports (watches). Live only')
            [CompletionResult]::new('--v', '--v', [CompletionResultType]::ParameterName, 'Log level as kubectl numbers it (-v=N and -v N mean the same): 0 off, 1-3 info, 4-5 debug, 6 and above trace')
            [CompletionResult]::new('--completions', '--completions', [CompletionResultType]::ParameterName, 'Print the completion script for SHELL (bash, zsh, fish, powershell, elvish) and exit; completions/ holds them, generated by this flag')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Scan every Service of the namespace (-n, else the context''s)')
            [CompletionResult]::new('-A', '-A ', [CompletionResultType]::ParameterName, 'Scan every Service of every namespace')
            [CompletionResult]::new('--all-namespaces', '--all-namespaces', [CompletionResultType]::ParameterName, 'Scan every Service of every namespace')
            [CompletionResult]::new('--no-probe', '--no-probe', [CompletionResultType]::ParameterName, 'Same as --probe none')
            [CompletionResult]::new('--keep-probe', '--keep-probe', [CompletionResultType]::ParameterName, 'Leave the probe Job in place for debugging, and print how to remove it')
            [CompletionResult]::new('--connect', '--connect', [CompletionResultType]::ParameterName, 'After resolving, open TCP connections from the probe to the ClusterIP and to each ready endpoint on its target port (pod probe and --from only)')
            [CompletionResult]::new('--insecure-skip-tls-verify', '--insecure-skip-tls-verify', [CompletionResultType]::ParameterName, 'Do not verify the API server''s certificate (insecure)')
            [CompletionResult]::new('--no-headers', '--no-headers', [CompletionResultType]::ParameterName, 'Omit table headers')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Log to stderr: -v info, -vv debug, -vvv trace (see also --v)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Log to stderr: -v info, -vv debug, -vvv trace (see also --v)')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
