//! Graph checks over contexts: include cycles, flattening includes, `goto` cycles.

use std::collections::VecDeque;

/// A resolved `goto`.
#[derive(Debug, Clone)]
pub(super) struct GotoEdge {
    /// The rule holding the `goto`.
    pub(super) rule: u32,
    /// The target context.
    pub(super) target: usize,
    /// Whether the rule rewrites the number before jumping.
    pub(super) rewrites: bool,
    /// Where the target is written.
    pub(super) file: usize,
    pub(super) offset: usize,
}

/// Every include cycle, each as a path `a, b, …, a`; each cycle is reported once.
pub(super) fn include_cycles(includes: &[Vec<usize>]) -> Vec<Vec<usize>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Active,
        Done,
    }
    fn visit(
        node: usize,
        includes: &[Vec<usize>],
        marks: &mut [Mark],
        stack: &mut Vec<usize>,
        cycles: &mut Vec<Vec<usize>>,
    ) {
        marks[node] = Mark::Active;
        stack.push(node);
        for &next in &includes[node] {
            match marks[next] {
                Mark::New => visit(next, includes, marks, stack, cycles),
                Mark::Active => {
                    let start = stack
                        .iter()
                        .position(|&n| n == next)
                        .expect("active nodes are on the stack");
                    let mut cycle = stack[start..].to_vec();
                    cycle.push(next);
                    cycles.push(cycle);
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        marks[node] = Mark::Done;
    }
    let mut marks = vec![Mark::New; includes.len()];
    let mut cycles = Vec::new();
    for node in 0..includes.len() {
        if marks[node] == Mark::New {
            visit(node, includes, &mut marks, &mut Vec::new(), &mut cycles);
        }
    }
    cycles
}

/// For each context: its own rules, then the rules of each included context (depth first, in
/// order), every context at most once.
pub(super) fn flatten(own: &[&[u32]], includes: &[Vec<usize>]) -> Vec<Vec<u32>> {
    fn visit(
        node: usize,
        own: &[&[u32]],
        includes: &[Vec<usize>],
        seen: &mut [bool],
        out: &mut Vec<u32>,
    ) {
        if seen[node] {
            return;
        }
        seen[node] = true;
        out.extend_from_slice(own[node]);
        for &next in &includes[node] {
            visit(next, own, includes, seen, out);
        }
    }
    (0..own.len())
        .map(|start| {
            let mut seen = vec![false; own.len()];
            let mut out = Vec::new();
            visit(start, own, includes, &mut seen, &mut out);
            out
        })
        .collect()
}

/// Cycles of `goto`s through rules that do not rewrite the number: a call that goes once around
/// such a cycle goes around forever (until the jump limit). Returns, per cycle, the edge that
/// closes it and the path of contexts. A rule that jumps to its own declaring context without a
/// rewrite is already an error and is skipped here.
pub(super) fn goto_cycles<'e>(
    flat: &[Vec<u32>],
    edges: &'e [GotoEdge],
    declaring: &[usize],
) -> Vec<(&'e GotoEdge, Vec<usize>)> {
    // context → (target, edge) for every non-rewriting goto reachable from that context.
    let adjacency: Vec<Vec<(usize, usize)>> = flat
        .iter()
        .map(|rules| {
            edges
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.rewrites && rules.contains(&e.rule))
                .map(|(i, e)| (e.target, i))
                .collect()
        })
        .collect();
    let mut reported = vec![false; flat.len()];
    let mut found = Vec::new();
    for (from, out) in adjacency.iter().enumerate() {
        for &(to, edge) in out {
            if reported[from] || (to == from && declaring[edges[edge].rule as usize] == from) {
                continue;
            }
            if let Some(mut path) = shortest_path(&adjacency, to, from) {
                path.insert(0, from);
                for &n in &path {
                    reported[n] = true;
                }
                found.push((&edges[edge], path));
            }
        }
    }
    found
}

fn shortest_path(adjacency: &[Vec<(usize, usize)>], from: usize, to: usize) -> Option<Vec<usize>> {
    let mut previous = vec![usize::MAX; adjacency.len()];
    let mut queue = VecDeque::from([from]);
    let mut seen = vec![false; adjacency.len()];
    seen[from] = true;
    while let Some(node) = queue.pop_front() {
        if node == to {
            let mut path = vec![to];
            let mut n = to;
            while n != from {
                n = previous[n];
                path.push(n);
            }
            path.reverse();
            return Some(path);
        }
        for &(next, _) in &adjacency[node] {
            if !seen[next] {
                seen[next] = true;
                previous[next] = node;
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cycles_and_flattening() {
        // 0 → 1 → 2 → 0, 3 → 3, 4 → 1
        let includes = vec![vec![1], vec![2], vec![0], vec![3], vec![1]];
        let cycles = include_cycles(&includes);
        assert_eq!(cycles, vec![vec![0, 1, 2, 0], vec![3, 3]]);

        // a(0) includes b(1) and c(2); b includes c: c's rules appear once, after b's.
        let own: Vec<&[u32]> = vec![&[0, 1], &[2], &[3, 4]];
        let includes = vec![vec![1, 2], vec![2], vec![]];
        assert_eq!(
            flatten(&own, &includes),
            vec![vec![0, 1, 2, 3, 4], vec![2, 3, 4], vec![3, 4]]
        );
    }
}
